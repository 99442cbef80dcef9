// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // A live character counter under the description.
  var description = document.getElementById("description");
  var counter = document.getElementById("description-counter");
  if (description && counter) {
    var template = counter.getAttribute("data-template") || "{count}";
    var update = function () {
      counter.textContent = template.replace("{count}", String(description.value.length));
    };
    counter.hidden = false;
    description.addEventListener("input", update);
    update();
  }

  // Warn at once about too many or too large files, before a long upload.
  var files = document.getElementById("attachments");
  if (files) {
    files.addEventListener("change", function () {
      var maxFiles = Number(files.getAttribute("data-max-files"));
      var maxBytes = Number(files.getAttribute("data-max-bytes"));
      var problem = "";
      if (files.files.length > maxFiles) {
        problem = document.documentElement.lang === "en"
          ? "You can attach at most " + maxFiles + " files."
          : "Puoi allegare al massimo " + maxFiles + " file.";
      } else {
        for (var i = 0; i < files.files.length; i++) {
          if (files.files[i].size > maxBytes) {
            problem = (document.documentElement.lang === "en" ? "Too large: " : "Troppo grande: ") + files.files[i].name;
          }
        }
      }
      files.setCustomValidity(problem);
      files.reportValidity();
    });
  }

  // Fetches an HTML fragment of our own (escaped by the server's templates) into `target`.
  // Only the answer to the latest request for a target is shown (a slow older one is dropped).
  var latest = 0;
  var load = function (url, target, done) {
    var request = new XMLHttpRequest();
    var mine = ++latest;
    target.setAttribute("data-request", String(mine));
    request.open("GET", url);
    request.onload = function () {
      if (request.status === 200 && target.getAttribute("data-request") === String(mine)) {
        target.innerHTML = request.responseText;
        if (done) { done(); }
      }
    };
    request.send();
  };
  var debounce = function (fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  };

  // FAQ search: results update as you type (the form still works without this).
  var faqSearch = document.getElementById("faq-q");
  var faqResults = document.getElementById("faq-results");
  if (faqSearch && faqResults) {
    faqSearch.addEventListener("input", debounce(function () {
      var q = faqSearch.value.trim();
      if (q.length < 3) {
        faqResults.setAttribute("data-request", "");
        faqResults.innerHTML = "";
        return;
      }
      load("/faq/cerca?frammento=1&q=" + encodeURIComponent(q), faqResults);
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "/faq/cerca?q=" + encodeURIComponent(q));
      }
    }, 250));
  }

  // While a citizen writes a request, the FAQ most like it; opening one is counted (without
  // personal data) so the URP knows how many questions the FAQ answered.
  var suggestions = document.getElementById("faq-suggestions");
  var subject = document.getElementById("subject");
  if (suggestions && subject && description) {
    var form = suggestions.closest("form");
    var token = form ? form.querySelector("input[name=csrf_token]") : null;
    var session = form ? form.querySelector("input[name=form_session]") : null;
    var suggest = debounce(function () {
      var q = (subject.value + " " + description.value).trim();
      if (q.length < 4) { return; }
      load(suggestions.getAttribute("data-endpoint") + "?q=" + encodeURIComponent(q.slice(0, 400)), suggestions, function () {
        suggestions.hidden = suggestions.querySelector("li") === null;
      });
    }, 400);
    subject.addEventListener("input", suggest);
    description.addEventListener("input", suggest);
    suggestions.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[data-faq]") : null;
      if (!link || !token || !session || !navigator.sendBeacon) { return; }
      var body = new URLSearchParams();
      body.set("csrf_token", token.value);
      body.set("form_session", session.value);
      body.set("faq", link.getAttribute("data-faq"));
      navigator.sendBeacon("/faq/aperture", body);
    });
  }

  // Move focus to the error summary so screen readers hear it first.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
  // The staff header: folded on narrow screens when the page opens (it is open without script
  // so nothing is out of reach); one menu open at a time; Escape or a click elsewhere closes it.
  var collapse = document.querySelector(".staff-collapse");
  if (collapse) {
    var narrow = window.matchMedia("(max-width: 991.98px)");
    if (narrow.matches) { collapse.open = false; }
    // Back to a wide window: the bar is always unfolded there (its summary is hidden).
    narrow.addEventListener("change", function (event) {
      if (!event.matches) { collapse.open = true; }
    });
  }
  var menus = document.querySelectorAll(".staff-menu");
  var closeMenus = function (except) {
    for (var m = 0; m < menus.length; m++) {
      if (menus[m] !== except) { menus[m].open = false; }
    }
  };
  for (var m = 0; m < menus.length; m++) {
    menus[m].addEventListener("toggle", function (event) {
      if (event.target.open) { closeMenus(event.target); }
    });
  }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    for (var m = 0; m < menus.length; m++) {
      if (menus[m].open) {
        menus[m].open = false;
        menus[m].querySelector("summary").focus();
      }
    }
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest(".staff-menu")) { closeMenus(null); }
  });
})();
