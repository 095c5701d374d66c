/* Kundpuls survey page, made smoother when JavaScript runs (it works without):
   - the comment box appears once the first question has a score, asking what fits
     that score ("What could we have done better?" / "What did you like most?");
   - the reasons after a low score appear only once a low score is chosen;
   - the score a rating link in the email was clicked with counts by itself: once the
     page has been on screen for a second, or at the first interaction (never sooner
     than 0.9 s after it loaded), it is sent as the answer; the rest stays optional;
   - the answer is sent with fetch and the thank-you page swapped in, no reload.
   No library, nothing loaded from elsewhere. */
(function () {
  "use strict";

  function commentBox(form) {
    var box = form.querySelector("#kp-comment");
    var first = form.querySelector("fieldset");
    if (!box || !first) return;
    var label = box.querySelector("#kp-comment-label");
    var textarea = box.querySelector("textarea");
    var optional = label.querySelector(".kp-optional");

    function update() {
      var chosen = first.querySelector("input[type=radio]:checked");
      if (chosen) {
        label.textContent = (chosen.getAttribute("data-prompt") || box.getAttribute("data-prompt-none")) + " ";
        if (optional) label.appendChild(optional);
        box.hidden = false;
      } else if (!textarea.value && !textarea.getAttribute("aria-invalid")) {
        box.hidden = true;
      }
    }
    first.addEventListener("change", update);
    update();
  }

  // The reasons after a low score: shown (and sent) only while a low score of their
  // question is chosen. Without JavaScript they are always shown, their legend
  // naming the scores they are for.
  function reasonBoxes(form) {
    var boxes = form.querySelectorAll("fieldset[data-kp-reasons-for]");
    Array.prototype.forEach.call(boxes, function (box) {
      var question = form.querySelector("#q-" + box.getAttribute("data-kp-reasons-for"));
      if (!question) return;
      var condition = box.querySelector(".kp-reasons-if");
      if (condition) condition.hidden = true;
      var hasError = !!box.querySelector(".kp-error");

      function update() {
        var chosen = question.querySelector("input[type=radio]:checked");
        var low = !!chosen && chosen.hasAttribute("data-low");
        box.hidden = !(low || hasError);
        box.disabled = box.hidden;
      }
      question.addEventListener("change", function () { hasError = false; update(); });
      update();
    });
  }

  // The clicked score counts without a press of the button. A mail scanner that
  // fetches the page without running this, or a page closed at once, sends nothing.
  function clickCounts(form) {
    var url = form.getAttribute("data-kp-click-url");
    if (!url || !window.fetch || !window.FormData) return;
    var kind = form.getAttribute("data-kp-click-kind");
    var loaded = Date.now();
    var sent = false;
    var onScreen = null;

    function score() {
      var chosen = form.querySelector("#q-" + kind + " input[type=radio]:checked");
      return chosen ? chosen.value : form.getAttribute("data-kp-click-score");
    }
    function send() {
      if (sent) return;
      sent = true;
      clearTimeout(onScreen);
      var data = new FormData();
      data.append("ft", form.querySelector("input[name=ft]").value);
      data.append("kind", kind);
      data.append("score", score());
      fetch(url, {
        method: "POST",
        body: data,
        credentials: "omit",
        headers: { "X-Requested-With": "fetch" }
      }).catch(function () { sent = false; });
    }
    function whenVisible() {
      clearTimeout(onScreen);
      if (document.visibilityState === "visible") onScreen = setTimeout(send, 1000);
    }
    function interacted(event) {
      if (!event.isTrusted || sent) return;
      setTimeout(send, Math.max(0, 900 - (Date.now() - loaded)));
    }
    document.addEventListener("visibilitychange", whenVisible);
    ["pointerdown", "keydown", "change"].forEach(function (name) {
      form.addEventListener(name, interacted);
    });
    form.addEventListener("submit", function () { sent = true; clearTimeout(onScreen); });
    whenVisible();
  }

  function swapIn(html, url, pushUrl) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("kp-page");
    var page = document.getElementById("kp-page");
    if (!fresh || !page) return false;
    page.replaceWith(document.importNode(fresh, true));
    document.title = doc.title;
    if (pushUrl && url && url !== window.location.href) window.history.pushState(null, "", url);
    var target = document.querySelector("[data-kp-focus]") || document.querySelector("main h1");
    if (target) {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus();
    }
    setup();
    return true;
  }

  function sendWithoutReload(form) {
    if (!window.fetch || !window.FormData || !window.DOMParser) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      form.setAttribute("aria-busy", "true");
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "omit",
        headers: { "X-Requested-With": "fetch" }
      })
        .then(function (response) {
          return response.text().then(function (html) {
            // A redirect means the answer was saved: show (and go to) the thank-you page.
            if (!swapIn(html, response.url, response.redirected)) throw new Error("no page");
          });
        })
        .catch(function () {
          if (button) button.disabled = false;
          form.removeAttribute("aria-busy");
          form.submit();  // the ordinary way, as without JavaScript
        });
    });
  }

  function setup() {
    var form = document.querySelector("form[data-kp-survey]");
    if (!form) return;
    commentBox(form);
    reasonBoxes(form);
    clickCounts(form);
    sendWithoutReload(form);
  }

  // Back from the swapped-in thank-you page: show the page the address names.
  window.addEventListener("popstate", function () { window.location.reload(); });
  setup();
})();
