// Tell the server the browser's time zone (unless the guest picked one), so times show in their zone.
(function () { try { if (!/(?:^|; )USER_TIMEZONE_CHOSEN=/.test(document.cookie)) { document.cookie = "USER_TIMEZONE=" + encodeURIComponent(Intl.DateTimeFormat().resolvedOptions().timeZone) + ";path=/;max-age=31536000;SameSite=Lax"; } } catch (e) {} })();
