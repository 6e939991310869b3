// The site's only JavaScript. It is hand-written (not a build output) and CSP-safe: loaded as a
// file with `defer`, no eval, no inline handlers. Everything it does is an improvement on pages
// that already work without it (every HTMX link also has an href, every form an action).
//
// 1. Time zone and clock: tell the server the browser's zone and 12/24-hour clock.
// 2. The address bar: a calendar's month, day and open time live in the page's URL.
// 3. The booking panel: modal while open, Back closes it, focus goes back where it came from.
// 4. Focus and announcements around the other HTMX swaps; Space works like Enter on day links.
//
// A page may hold several booking calendars ([data-booking-widget], each with its own id
// prefix), so nothing here looks a calendar's parts up by id: it finds the widget the event
// happened in and looks inside it by data attribute.

(function () {
  "use strict";

  function widgetOf(el) {
    return (el && el.closest && el.closest("[data-booking-widget]")) || document;
  }

  // --- 1. Time zone and clock ---------------------------------------------------------------------
  //
  // The server draws times in the zone it knows: the one the guest picked, else the browser's zone
  // sent with every HTMX request (X-Timezone), else the cookie set here, else the site's own. On a
  // first visit there is no cookie yet, so the page arrives in the site's zone; instead of
  // reloading, each part of the page that shows times ([data-zone-sensitive]) redraws itself with
  // one HTMX request, which carries the zone. One document load, whatever the guest's zone.

  var browserZone = "";
  var browserClock = "";
  try {
    browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    var cycle = new Intl.DateTimeFormat(undefined, { hour: "numeric" }).resolvedOptions().hourCycle;
    browserClock = cycle === "h11" || cycle === "h12" ? "h12" : cycle ? "h23" : "";
  } catch (error) {
    // Old browsers without Intl time zones: the server falls back to the site's zone, and every
    // time shown still names its zone.
  }

  function setCookie(name, value) {
    // Written raw ("Asia/Tokyo", not "Asia%2FTokyo"): Django does not %-decode cookie values.
    try {
      document.cookie = name + "=" + value + ";path=/;max-age=31536000;SameSite=Lax";
    } catch (error) {
      // Cookies blocked (sandboxed frames): the X-Timezone header still does the job.
    }
  }

  var zoneChosen = document.body.hasAttribute("data-timezone-chosen");
  if (browserZone && !zoneChosen) setCookie("USER_TIMEZONE", browserZone);
  if (browserClock) setCookie("USER_HOUR_CYCLE", browserClock);

  document.addEventListener("htmx:configRequest", function (event) {
    if (browserZone) event.detail.headers["X-Timezone"] = browserZone;
    if (browserClock) event.detail.headers["X-Hour-Cycle"] = browserClock;
  });

  var redrawn = false;
  document.addEventListener("htmx:load", function (event) {
    // htmx:load fires on <body> once htmx has wired up the page; later ones are for swapped content.
    if (redrawn || event.target !== document.body) return;
    redrawn = true;
    var drawnZone = document.body.getAttribute("data-timezone");
    var drawnClock = document.body.getAttribute("data-hour-cycle");
    var wrongZone = browserZone && !zoneChosen && drawnZone !== browserZone;
    var wrongClock = browserClock && drawnClock !== browserClock;
    if (!wrongZone && !wrongClock) return;
    document.querySelectorAll("[data-zone-sensitive]").forEach(function (el) {
      htmx.trigger(el, "zone-detected");
    });
  });

  // --- 2. The address bar -------------------------------------------------------------------------
  //
  // Each swapped region says which page URL shows it (data-state-url). A month or a day replaces
  // the current history entry (Back does not step through every month looked at); opening the
  // booking panel adds one, so Back closes the panel instead of leaving the page.

  function replaceUrl(url) {
    if (url && url !== location.pathname + location.search) history.replaceState(history.state, "", url);
  }

  // --- 3. The booking panel -----------------------------------------------------------------------

  var opener = null; // the time (or "Book a seat") that opened the panel
  var madeInert = []; // what the open panel hid from keyboard and screen readers

  function openDialog() {
    return document.querySelector("[data-slide-over-region] [data-slide-over]");
  }

  // While the panel is open the rest of the page is inert: no Tab, no click, not read out. The
  // backdrop (inside the panel's region) still closes it; the announcer stays live.
  function makeModal(dialog) {
    releaseModal();
    dialog.setAttribute("aria-modal", "true");
    var el = dialog.closest("[data-slide-over-region]");
    while (el && el.parentElement && el !== document.body) {
      Array.prototype.forEach.call(el.parentElement.children, function (sibling) {
        var skip = sibling === el || sibling.inert || sibling.tagName === "SCRIPT";
        if (skip || sibling.hasAttribute("data-announcer")) return;
        sibling.inert = true;
        madeInert.push(sibling);
      });
      el = el.parentElement;
    }
  }

  function releaseModal() {
    madeInert.forEach(function (el) {
      el.inert = false;
    });
    madeInert = [];
  }

  function focusables(root) {
    var selector = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), " +
      "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
    return Array.prototype.filter.call(root.querySelectorAll(selector), function (el) {
      return el.getClientRects().length > 0;
    });
  }

  // Headings and regions are not focusable by default; tabindex=-1 lets a script focus them
  // without adding them to the Tab order.
  function focusElement(el) {
    if (!el) return;
    var natural = /^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(el.tagName);
    if (!natural && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
    el.focus();
  }

  function panelOpened(region, pushEntry) {
    var dialog = region.querySelector("[data-slide-over]");
    if (!dialog) return;
    makeModal(dialog);
    dialog.focus();
    if (pushEntry && !(history.state && history.state.bookingPanel === region.id)) {
      var panelUrl = opener && opener.getAttribute("hx-get");
      history.pushState({ bookingPanel: region.id, panelUrl: panelUrl }, "", dialog.getAttribute("data-state-url"));
    }
  }

  // Close the panel whose region is `region` and put focus back on the time that opened it (or,
  // after the times were redrawn, the same time; or the day's times). `fromHistory`: Back did it.
  function closePanel(region, fromHistory) {
    var dialog = region && region.querySelector("[data-slide-over]");
    if (!dialog) return false;
    var start = dialog.getAttribute("data-for-start");
    var closeUrl = dialog.getAttribute("data-close-url");
    var widget = widgetOf(region);
    releaseModal();
    region.innerHTML = "";
    if (!fromHistory) {
      if (history.state && history.state.bookingPanel === region.id) {
        history.back(); // the entry the panel added goes; popstate finds nothing left to close
      } else {
        replaceUrl(closeUrl); // opened from a link to it: no entry of ours to go back over
      }
    }
    var target = opener && document.body.contains(opener) ? opener : null;
    if (!target && start) target = widget.querySelector('[data-start="' + start + '"]');
    if (!target) target = widget.querySelector("[data-day-slots]") || widget.querySelector("[data-calendar]");
    focusElement(target);
    opener = null;
    return true;
  }

  window.addEventListener("popstate", function (event) {
    var state = event.state || {};
    var dialog = openDialog();
    if (dialog) {
      var region = dialog.closest("[data-slide-over-region]");
      if (state.bookingPanel !== region.id) closePanel(region, true);
    } else if (state.bookingPanel && state.panelUrl && document.getElementById(state.bookingPanel)) {
      // Forward again after Back: open the same panel again.
      htmx.ajax("GET", state.panelUrl, { target: "#" + state.bookingPanel, swap: "innerHTML" });
    }
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest && event.target.closest("[data-slide-over-region] [data-close-panel]");
    // Without this script the same links are real links back to the day's times.
    if (closer && closePanel(closer.closest("[data-slide-over-region]"), false)) event.preventDefault();
  });

  document.addEventListener("keydown", function (event) {
    var dialog = openDialog();
    if (event.key === "Escape" && dialog) {
      event.preventDefault();
      closePanel(dialog.closest("[data-slide-over-region]"), false);
    } else if (event.key === "Tab" && dialog) {
      // Keep Tab inside the panel: from the last control back to the first, and the other way.
      var items = focusables(dialog);
      var active = document.activeElement;
      if (!items.length) {
        event.preventDefault();
        dialog.focus();
      } else if (event.shiftKey && (active === items[0] || active === dialog || !dialog.contains(active))) {
        event.preventDefault();
        items[items.length - 1].focus();
      } else if (!event.shiftKey && (active === items[items.length - 1] || !dialog.contains(active))) {
        event.preventDefault();
        items[0].focus();
      }
    } else if ((event.key === " " || event.key === "Spacebar") && event.target.matches && event.target.matches(
      "a[data-day][hx-get], a[data-start][hx-get], a[data-month-nav], a[data-next-available]")) {
      // These links act like buttons (they change what the calendar shows): Space chooses too.
      event.preventDefault();
      event.target.click();
    }
  });

  // --- 4. Focus and announcements around the swaps ------------------------------------------------
  //
  // Keyboard and screen-reader users must not lose their place when HTMX replaces the part of the
  // page they are on:
  // - previous/next month: the arrow is replaced by a new one, so focus moves to the new arrow;
  // - choosing a day (or "Next available"): focus moves to the heading of that day's times;
  // - a time opens the panel: focus moves into it (section 3);
  // - the form comes back with errors or the confirmation: focus moves to the first error or to the
  //   "You're booked!" heading (scrolled into view: on a phone the button pressed was far below);
  // - a calendar redrawing itself (another zone, a booking made) keeps focus on the same day/time;
  // - changing the zone leaves focus in the zone box;
  // - whatever a swap brings with a [data-announce] message is read out by the aria-live region.
  //
  // Focus moves on htmx:afterSwap, in the same task as the DOM change, never later (afterSettle
  // runs ~20 ms after the swap). Otherwise a key pressed in between lands on the new content first
  // and then has focus pulled away from under it.

  function announce(root) {
    var source = root && root.querySelector("[data-announce]");
    var live = widgetOf(root).querySelector("[data-announcer]") || document.getElementById("booking-announcer");
    if (!source || !live) return;
    // Screen readers announce a live region when its text changes: empty it first and fill it a
    // moment later, so the same message twice in a row ("that time was just taken") is read again.
    live.textContent = "";
    setTimeout(function () {
      live.textContent = source.getAttribute("data-announce");
    }, 50);
  }

  // What identifies the focused control across a redraw of its region.
  var KEYS = ["data-day", "data-start", "data-month-nav", "data-next-available"];
  var refocus = null;

  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = event.detail.elt;
    if (el && el.closest && el.closest("[data-opens-panel]")) opener = el.closest("[data-opens-panel]");
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    refocus = null;
    if (!active || active === document.body) return;
    KEYS.forEach(function (key) {
      if (!refocus && active.hasAttribute(key)) refocus = "[" + key + '="' + active.getAttribute(key) + '"]';
    });
  });

  // A redraw removed the control that had focus: put it on the same day or time in the new HTML.
  function restoreFocus(root) {
    var active = document.activeElement;
    if (!refocus || (active && active !== document.body && document.body.contains(active))) return;
    var again = root.matches(refocus) ? root : root.querySelector(refocus);
    if (again) again.focus();
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    // Fired for every element a response put on the page: the request's target (for outerHTML
    // swaps, the calendar and the day's times, event.target is the new element and
    // event.detail.target the one it replaced) and each out-of-band region (fired first).
    var swapped = event.target;
    var target = event.detail.target;
    if (swapped !== target && !(target.id && swapped.id === target.id)) {
      restoreFocus(swapped); // an out-of-band region
      return;
    }
    var source = (event.detail.requestConfig && event.detail.requestConfig.elt) || document.body;
    var byUser = source !== document.body && !source.matches("[data-calendar], [data-zone-sensitive]");

    if (target.matches("[data-slide-over-region]")) {
      panelOpened(target, byUser);
    } else if (target.matches("[data-booking-panel]")) {
      // The form again (first error first) or the confirmation.
      var first = target.querySelector("[data-focus-first], [aria-invalid=true], [data-form-error]");
      if (first) focusElement(first);
      var dialog = target.closest("[data-slide-over]");
      if (dialog && target.querySelector("[data-booking-success]")) {
        // Booked: neither a reload nor Forward should offer the same time again.
        var ours = history.state && history.state.bookingPanel;
        history.replaceState(ours ? { bookingPanel: ours } : history.state, "", dialog.getAttribute("data-close-url"));
      }
    } else if (source.matches && source.matches("[data-zone-form]")) {
      // Zone changed: the calendar is redrawn, the guest stays in the zone box.
      var input = source.querySelector("[data-zone-input]");
      var error = source.querySelector("[role=alert]");
      if (error && swapped.matches("[data-calendar]")) error.textContent = "";
      if (input && swapped.matches("[data-calendar]")) {
        input.value = "";
        input.focus();
      }
    } else if (byUser && swapped.matches("[data-calendar]") && source.matches("[data-month-nav], [data-next-available]")) {
      replaceUrl(swapped.getAttribute("data-state-url"));
      var arrow = swapped.querySelector("[data-month-nav=" + source.getAttribute("data-month-nav") + "]");
      focusElement(arrow || swapped.querySelector("[data-day]") || swapped);
    } else if (swapped.matches("[data-day-slots]") && byUser) {
      replaceUrl(swapped.getAttribute("data-state-url"));
      focusElement(swapped.querySelector("h2, h3"));
    } else {
      restoreFocus(swapped); // a redraw under the guest's focus
    }
    refocus = null;
    announce(target);
  });

  // Picking a suggestion from the zone box's list is the choice: no need to press Change too.
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-zone-input]") || !input.list) return;
    var picked = Array.prototype.some.call(input.list.options, function (option) {
      return option.value === input.value;
    });
    if (picked && input.form) input.form.requestSubmit();
  });

  // A panel drawn open by the server (a shared link with a time, or the return from a cancelled
  // checkout) is modal too; closing it changes the address instead of going back.
  document.addEventListener("DOMContentLoaded", function () {
    var dialog = openDialog();
    if (!dialog) return;
    makeModal(dialog);
    var first = dialog.querySelector("[data-checkout-cancelled], [data-form-error]");
    focusElement(first || dialog);
  });
})();
