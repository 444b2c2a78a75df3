// The console's behaviour: queue keyboard shortcuts, keeping focus across refreshes, copying the edit into the
// other forms of the draft page. No inline script anywhere (the page's CSP allows scripts from /static only).
(function () {
  "use strict";

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll('[data-testid="queue-item"]'));
  }

  function currentRow() {
    var active = document.activeElement;
    return active && active.closest ? active.closest('[data-testid="queue-item"]') : null;
  }

  var lastDraftId = null;

  function focusRow(row) {
    if (!row) return;
    rows().forEach(function (r) { r.classList.remove("selected"); });
    row.classList.add("selected");
    row.focus();
    lastDraftId = row.getAttribute("data-draft-id");
  }

  function move(step) {
    var list = rows();
    if (!list.length) return;
    var row = currentRow();
    var i = row ? list.indexOf(row) : -1;
    var next = i < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, i + step));
    focusRow(list[next]);
  }

  document.addEventListener("keydown", function (event) {
    if (document.body.getAttribute("data-page") !== "queue") return;
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var row = currentRow();
    switch (event.key) {
      case "j": move(1); event.preventDefault(); break;
      case "k": move(-1); event.preventDefault(); break;
      case "Enter":
        if (row && event.target === row) { window.location.href = row.getAttribute("data-href"); event.preventDefault(); }
        break;
      case "a":
        if (row) {
          var form = row.querySelector("form.quick-approve");
          if (form) { form.requestSubmit(); event.preventDefault(); }
        }
        break;
      case "r":
        if (row) { window.location.href = row.getAttribute("data-href") + "#reject"; event.preventDefault(); }
        break;
    }
  });

  document.addEventListener("focusin", function (event) {
    var row = event.target && event.target.closest ? event.target.closest('[data-testid="queue-item"]') : null;
    if (row) lastDraftId = row.getAttribute("data-draft-id");
  });

  // After the queue refreshes, the row the reviewer was on keeps the focus (when it is still there).
  // A row that left (approved with `a`) hands the focus to the row that took its place.
  var lastIndex = -1;
  document.addEventListener("htmx:beforeSwap", function () {
    lastIndex = rows().findIndex(function (r) { return r.getAttribute("data-draft-id") === lastDraftId; });
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (!lastDraftId || typing(document.activeElement)) return;
    var row = document.querySelector('[data-testid="queue-item"][data-draft-id="' + lastDraftId + '"]');
    var list = rows();
    if (!row && lastIndex >= 0 && list.length) row = list[Math.min(lastIndex, list.length - 1)];
    if (row) focusRow(row);
  });

  // Reject and regenerate carry the text being edited, so a refusal shows it again instead of losing it.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    form.querySelectorAll("input[data-copy-of]").forEach(function (input) {
      var source = document.getElementById(input.getAttribute("data-copy-of"));
      if (source) input.value = source.value;
    });
  }, true);

  // Opening a draft at #reject focuses the reason.
  function focusReject() {
    var reason = window.location.hash === "#reject" ? document.getElementById("reject-reason") : null;
    if (reason && document.activeElement !== reason) reason.focus();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusReject);
  else focusReject();
  window.addEventListener("load", focusReject);
})();

// The editor's character count follows the text.
document.addEventListener("input", function (event) {
  var target = event.target;
  if (!target || !target.id) return;
  document.querySelectorAll('[data-count-of="' + target.id + '"]').forEach(function (counter) {
    counter.textContent = String(target.value.length);
  });
});

// The queue's refresh waits while the reviewer reads a row's expanded risk reasons.
document.addEventListener("htmx:beforeRequest", function (event) {
  var elt = event.detail && event.detail.elt;
  if (elt && elt.id === "queue-items" && elt.querySelector("details.reasons[open]")) event.preventDefault();
});

// Delivery by hand: "copy" puts the approved text on the clipboard (selecting it where the clipboard is refused).
document.addEventListener("click", function (event) {
  var button = event.target && event.target.closest ? event.target.closest("[data-copy-target]") : null;
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy-target"));
  if (!source) return;
  var status = button.parentNode ? button.parentNode.querySelector(".copy-status") : null;
  function done() {
    if (status) status.textContent = button.getAttribute("data-copied") || "";
  }
  function fallback() {
    source.focus();
    source.select();
    try {
      if (document.execCommand("copy")) done();
    } catch (e) { /* the text stays selected: the person copies it with the keyboard */ }
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(source.value).then(done, fallback);
  } else {
    fallback();
  }
});
