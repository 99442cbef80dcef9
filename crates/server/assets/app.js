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

  // Move focus to the error summary so screen readers hear it first.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
