// Tell the server the browser's zone (unless the guest picked one; raw, as Django does not %-decode cookies); reload once if the page was drawn in another zone.
(function () { try { var zone = Intl.DateTimeFormat().resolvedOptions().timeZone, had = /(?:^|; )USER_TIMEZONE=/.test(document.cookie); if (!/(?:^|; )USER_TIMEZONE_CHOSEN=/.test(document.cookie)) { document.cookie = "USER_TIMEZONE=" + zone + ";path=/;max-age=31536000;SameSite=Lax"; if (!had && /(?:^|; )USER_TIMEZONE=/.test(document.cookie) && document.body && document.body.dataset.timezone && document.body.dataset.timezone !== zone) location.reload(); } } catch (e) {} })();

// Slide-over: focus moves in when it opens and back to the slot button when it closes (✕ or Escape); results are announced.
(function () {
  var opener = null, monthNav = null, slideOver = function () { return document.getElementById("slide-over"); };
  function announce(root) { var msg = root && root.querySelector("[data-announce]"), live = document.getElementById("booking-announcer"); if (msg && live) { live.textContent = ""; setTimeout(function () { live.textContent = msg.getAttribute("data-announce"); }, 50); } }
  function close() { var panel = slideOver(); if (!panel || !panel.firstElementChild) return false; panel.innerHTML = ""; if (opener && document.body.contains(opener)) opener.focus(); else { var days = document.getElementById("day-slots") || document.getElementById("calendar"); if (days) { days.setAttribute("tabindex", "-1"); days.focus(); } } return true; }
  document.addEventListener("htmx:beforeRequest", function (e) { var el = e.target.closest ? e.target : null; if (!el) return; if (el.closest("[data-opens-panel]")) opener = el.closest("[data-opens-panel]"); monthNav = el.getAttribute("data-month-nav"); });
  // After a month swap keep focus on the same arrow; after choosing a day move to its times.
  document.addEventListener("htmx:afterSettle", function (e) { var el; if (monthNav && (el = document.querySelector("#calendar [data-month-nav=" + monthNav + "]"))) el.focus(); else if (e.target.id === "day-slots" && (el = document.getElementById("day-slots-title"))) { el.setAttribute("tabindex", "-1"); el.focus(); } monthNav = null; });
  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail.target;
    if (target.id === "slide-over") { var dialog = target.querySelector("[data-slide-over]"); if (dialog) dialog.focus(); }
    else if (target.matches("[data-booking-panel]")) { var first = target.querySelector("[data-focus-first], [aria-invalid=true], [data-form-error]"); if (first) { if (!first.hasAttribute("tabindex") && !/INPUT|SELECT|TEXTAREA/.test(first.tagName)) first.setAttribute("tabindex", "-1"); first.focus(); } }
    announce(target);
  });
  document.addEventListener("click", function (e) { var link = e.target.closest && e.target.closest("#slide-over [data-close-panel]"); if (link && close()) e.preventDefault(); });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && close()) e.preventDefault(); });
})();
