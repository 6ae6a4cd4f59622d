/* Qazyna: the little the pages do with JavaScript. Every page works without it. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  // The error summary takes focus, so a screen reader announces it and the keyboard starts there.
  function focusErrorSummary(root) {
    var summary = (root || document).querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
  }

  // Links in the error summary move focus to the field, not only scroll to it.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".error-summary a[href^='#']");
    if (!link) { return; }
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (field) {
      event.preventDefault();
      field.focus();
      field.scrollIntoView({block: "center"});
    }
  });

  // A form is sent once: a second click while the first is on its way does nothing.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.hasAttribute("data-prevent-double-click")) {
      if (button.dataset.sent) { event.preventDefault(); return; }
      button.dataset.sent = "1";
      setTimeout(function () { delete button.dataset.sent; }, 2000);
    }
  });

  // Evidence: the SHA-256 of the chosen file, computed here before it is sent, to compare with
  // the hash the server records.
  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file][data-sha256-target]")) { return; }
    var target = document.getElementById(input.getAttribute("data-sha256-target"));
    if (!target || !input.files || !input.files[0] || !window.crypto || !window.crypto.subtle) { return; }
    target.textContent = target.getAttribute("data-working") || "…";
    input.files[0].arrayBuffer().then(function (data) {
      return window.crypto.subtle.digest("SHA-256", data);
    }).then(function (digest) {
      target.textContent = (target.getAttribute("data-label") || "") + " " + hex(digest);
    });
  });

  ready(function () {
    document.documentElement.classList.add("js-enabled");
    focusErrorSummary(document);
  });
})();
