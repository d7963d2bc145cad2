// The dashboard's behaviour beside htmx: relative times, the live indicator, switch toggles
// over the WebSocket with a POST fallback, toasts, copy buttons and trimmed live lists (line charts:
// static/js/history-chart.js). A static file, so that a Content-Security-Policy without inline script works.
(function () {
  "use strict";

  var TOAST_MS = 8000;
  // The close code of a WebSocket whose login has ended (LOGGED_OUT in webapp/realtime/ws.py).
  var LOGGED_OUT = 4401;
  var liveSocketOpen = false;
  var loggingOut = false;
  // The live indicator follows the page's WebSocket where it has one (overview, device pages), else its
  // notification stream (the notifications and admin pages): every page says whether it is live.
  var followsSocket = false;

  // Same wording as relative_time in webapp/dashboard/templating.py.
  function relativeTime(ms, now) {
    var seconds = Math.max(0, Math.floor((now - ms) / 1000));
    if (seconds < 5) return "just now";
    if (seconds < 60) return seconds + " s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return Math.floor(seconds / 86400) + " d ago";
  }

  function refreshTimes() {
    var now = Date.now();
    document.querySelectorAll("time[data-relative][datetime]").forEach(function (time) {
      var text = relativeTime(Date.parse(time.getAttribute("datetime")), now);
      if (time.textContent !== text) time.textContent = text;
    });
  }

  function setLiveState(state) {
    var status = document.getElementById("live-status");
    document.body.dataset.live = state;
    if (status) status.textContent = { open: "Live", connecting: "Connecting…", closed: "Reconnecting…" }[state];
  }

  // A live update may replace the element that has the keyboard focus (a switch just toggled):
  // give the focus to its replacement, as htmx does for its own requests.
  var focusedId = null;
  document.addEventListener("htmx:wsBeforeMessage", function () {
    focusedId = document.activeElement && document.activeElement.id;
  });

  // "Live" once the server's first message (a snapshot of everything live on the page) is in.
  document.addEventListener("htmx:wsConnecting", function () { setLiveState("connecting"); });
  document.addEventListener("htmx:wsOpen", function () { liveSocketOpen = true; });
  document.addEventListener("htmx:wsAfterMessage", function () {
    if (document.body.dataset.live !== "open") setLiveState("open");
    var replacement = focusedId && document.getElementById(focusedId);
    if (replacement && replacement !== document.activeElement) replacement.focus();
  });
  document.addEventListener("htmx:wsClose", function (event) {
    liveSocketOpen = false;
    setLiveState("closed");
    // Logged out in another tab or browser: this page is on its way to the login form already if it logged out itself.
    if (event.detail.event.code === LOGGED_OUT && !loggingOut) {
      location.assign(document.body.dataset.loginUrl + "?next=" + encodeURIComponent(location.pathname + location.search));
    }
  });
  document.addEventListener("submit", function (event) {
    if (event.target.matches("form[data-logout]")) loggingOut = true;
  });
  // The notification stream reconnects by itself (EventSource); the state is kept for tests and styles.
  document.addEventListener("htmx:sseOpen", function () {
    document.body.dataset.notifications = "open";
    if (!followsSocket) setLiveState("open");
  });
  document.addEventListener("htmx:sseError", function () {
    document.body.dataset.notifications = "closed";
    if (!followsSocket) setLiveState("closed");
  });

  // A switch's submit reaches both its form's hx-post and its wrapper's ws-send: the WebSocket
  // carries the toggle while it is open, the POST otherwise. Never both, and no toggle waits
  // queued for a socket that is down.
  document.addEventListener("htmx:wsConfigSend", function (event) {
    if (!liveSocketOpen) event.preventDefault();
  });
  document.addEventListener("htmx:confirm", function (event) {
    if (liveSocketOpen && event.target.matches("[data-live-toggle]")) event.preventDefault();
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (event.detail.successful && form.matches("form[data-reset-on-success]")) form.reset();
  });

  // Server errors and lost connections have no body to show: say so in a toast.
  function errorToast(message) {
    var toast = document.createElement("div");
    var text = document.createElement("p");
    var close = document.createElement("button");
    toast.className = "toast toast-error";
    toast.setAttribute("role", "alert");
    text.textContent = message;
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    toast.append(text, close);
    document.getElementById("toasts").append(toast);
  }
  document.addEventListener("htmx:responseError", function (event) {
    errorToast("The server failed (" + event.detail.xhr.status + "). Try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    errorToast("The server cannot be reached. Check the connection and try again.");
  });

  document.addEventListener("click", function (event) {
    var dismiss = event.target.closest("[data-dismiss]");
    var copy = event.target.closest("[data-copy]");
    var closeEditor = event.target.closest("[data-close-editor]");
    if (dismiss) dismiss.closest(".toast").remove();
    if (copy) copyText(document.querySelector(copy.getAttribute("data-copy")), copy);
    // Cancel is a link back to the device page (a plain edit page has no editor to close).
    var editor = closeEditor && document.querySelector(closeEditor.getAttribute("data-close-editor"));
    if (editor) {
      event.preventDefault();
      editor.replaceChildren();
    }
  });

  function copyText(source, button) {
    var text = source.textContent.trim();
    function copied() {
      button.firstChild.textContent = "Copied";
      setTimeout(function () { button.firstChild.textContent = "Copy"; }, 2000);
    }
    function selectAndCopy() {
      var range = document.createRange();
      range.selectNodeContents(source);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      if (document.execCommand("copy")) copied();
    }
    // The Clipboard API needs a secure context (https or localhost); on a LAN over http, select and copy.
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(copied, selectAndCopy);
    else selectAndCopy();
  }

  function armToasts() {
    document.querySelectorAll("#toasts .toast:not([data-armed])").forEach(function (toast) {
      toast.setAttribute("data-armed", "");
      setTimeout(function () { toast.remove(); }, TOAST_MS);
    });
  }

  // Live lists grow at one end (data-trim says which end to cut) and keep data-max-items.
  function trimLists() {
    document.querySelectorAll("[data-max-items]").forEach(function (list) {
      var max = parseInt(list.getAttribute("data-max-items"), 10);
      var fromStart = list.getAttribute("data-trim") === "start";
      while (list.children.length > max) {
        (fromStart ? list.firstElementChild : list.lastElementChild).remove();
      }
    });
  }

  function refresh() {
    trimLists();
    armToasts();
    refreshTimes();
  }

  // Whatever htmx swapped (a response, a WebSocket or SSE message), tidy up once afterwards.
  var scheduled = false;
  function scheduleRefresh() {
    if (scheduled) return;
    scheduled = true;
    setTimeout(function () { scheduled = false; refresh(); }, 0);
  }

  document.addEventListener("DOMContentLoaded", function () {
    followsSocket = Boolean(document.querySelector("[ws-connect]"));
    if ((followsSocket || document.querySelector("[sse-connect]")) && document.body.dataset.live !== "open") setLiveState("connecting");
    refresh();
    new MutationObserver(scheduleRefresh).observe(document.body, { childList: true, subtree: true });
    setInterval(refreshTimes, 1000);
  });
})();
