// The site's only JavaScript. It is hand-written (not a build output) and CSP-safe: loaded as a
// file with `defer`, no eval, no inline handlers. Everything it does is an improvement on pages
// that already work without it (every HTMX link also has an href).
//
// 1. Time zone: tell the server which zone the browser is in.
// 2. Focus and announcements around the HTMX swaps of the booking calendar and its slide-over.

// --- 1. Time zone ---------------------------------------------------------------------------------

(function () {
  function hasCookie(name) {
    return new RegExp("(?:^|; )" + name + "=").test(document.cookie);
  }

  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var hadZoneCookie = hasCookie("USER_TIMEZONE");

    // A zone the guest picked in the "Your time zone" form wins over the browser's guess.
    if (hasCookie("USER_TIMEZONE_CHOSEN")) return;

    // Written raw ("Asia/Tokyo", not "Asia%2FTokyo"): Django does not %-decode cookie values.
    document.cookie = "USER_TIMEZONE=" + zone + ";path=/;max-age=31536000;SameSite=Lax";

    // On the very first visit the server had no cookie and drew the page in the site's zone. Redraw
    // once in the guest's zone -- but only if the cookie really stuck (cookies may be blocked, and
    // reloading would then loop forever) and the page was drawn in a different zone.
    var drawnIn = document.body && document.body.dataset.timezone;
    if (!hadZoneCookie && hasCookie("USER_TIMEZONE") && drawnIn && drawnIn !== zone) {
      location.reload();
    }
  } catch (error) {
    // Old browsers without Intl time zones, or cookies that throw (sandboxed frames): the server
    // falls back to the site's zone and every time shown still names its zone.
  }
})();

// --- 2. Focus and announcements -------------------------------------------------------------------
//
// Keyboard and screen-reader users must not lose their place when HTMX replaces the part of the
// page they are on:
// - a time opens the slide-over: focus moves into it; closing it (✕, the backdrop, "Pick another
//   time" or Escape) puts focus back on the time that opened it;
// - previous/next month: the arrow is replaced by a new one, so focus moves to the new arrow;
// - choosing a day: focus moves to the heading of that day's times;
// - the form comes back with errors or the confirmation: focus moves to the first error or to the
//   "You're booked!" heading;
// - whatever a swap brings with a [data-announce] message is read out by the aria-live region.
//
// Focus moves on htmx:afterSwap, in the same task as the DOM change, never later (afterSettle
// runs ~20 ms after the swap). Otherwise a key pressed in between lands on the new content first
// and then has focus pulled away from under it (a fast Tab reaches a time, and Enter then hits
// the heading instead).

(function () {
  var opener = null; // the [data-opens-panel] link whose request opened the slide-over
  var monthNav = null; // "prev"/"next" when the pending request came from a month arrow

  function slideOver() {
    return document.getElementById("slide-over");
  }

  // Headings and regions are not focusable by default; tabindex=-1 lets a script focus them
  // without adding them to the Tab order.
  function focusElement(el) {
    var natural = /^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(el.tagName);
    if (!natural && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
    el.focus();
  }

  // Screen readers announce a live region when its text changes: empty it first and fill it a
  // moment later, so the same message twice in a row ("that time was just taken") is read again.
  function announce(root) {
    var source = root && root.querySelector("[data-announce]");
    var live = document.getElementById("booking-announcer");
    if (!source || !live) return;
    live.textContent = "";
    setTimeout(function () {
      live.textContent = source.getAttribute("data-announce");
    }, 50);
  }

  // Returns whether there was a panel to close, so callers only swallow the event when it did.
  function closeSlideOver() {
    var panel = slideOver();
    if (!panel || !panel.firstElementChild) return false;
    panel.innerHTML = "";
    if (opener && document.body.contains(opener)) {
      opener.focus();
    } else {
      // The time that opened it is gone (e.g. the grid was redrawn): fall back to its region.
      var region = document.getElementById("day-slots") || document.getElementById("calendar");
      if (region) focusElement(region);
    }
    return true;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = event.target;
    if (!el || !el.closest) return; // requests can be issued from the document itself
    var panelLink = el.closest("[data-opens-panel]");
    if (panelLink) opener = panelLink;
    monthNav = el.getAttribute("data-month-nav");
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    // For outerHTML swaps (the calendar, the day's times) event.target is the new element and
    // event.detail.target the one it replaced; for innerHTML swaps they are the same element.
    var swapped = event.target;
    var target = event.detail.target;

    if (swapped.id === "calendar" && monthNav) {
      var arrow = swapped.querySelector("[data-month-nav=" + monthNav + "]");
      monthNav = null;
      if (arrow) arrow.focus();
    } else if (swapped.id === "day-slots") {
      var title = document.getElementById("day-slots-title");
      if (title) focusElement(title);
    } else if (target.id === "slide-over") {
      var dialog = target.querySelector("[data-slide-over]");
      if (dialog) dialog.focus();
    } else if (target.matches("[data-booking-panel]")) {
      // The form again (first error first) or the confirmation.
      var first = target.querySelector("[data-focus-first], [aria-invalid=true], [data-form-error]");
      if (first) focusElement(first);
    }
    announce(target);
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest && event.target.closest("#slide-over [data-close-panel]");
    // Without this script the same links are real links back to the day's times.
    if (closer && closeSlideOver()) event.preventDefault();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && closeSlideOver()) event.preventDefault();
  });
})();
