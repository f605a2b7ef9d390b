/*
 * Files on the warranty, return and complaint forms. Each chosen file is
 * checked against the stated limits first, then sent straight to storage with
 * a presigned POST from /api/uploads, with a progress bar and a Remove button;
 * the form itself carries only the upload ids, in one hidden field. Without
 * this script the form says that files need JavaScript and is sent without.
 * Its sentences are English; other languages' pages translate them
 * (aftercare-forms.js: aftercareWords).
 */
(function () {
  "use strict";

  function t(text, values) {
    return window.aftercareWords ? window.aftercareWords(text, values) : text;
  }

  var TYPES = {
    "image/jpeg": "image/jpeg", "image/png": "image/png", "image/heic": "image/heic",
    "image/heif": "image/heif", "application/pdf": "application/pdf"
  };
  // Some browsers give HEIC photos no type at all: the name's ending decides then.
  var ENDINGS = { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", heic: "image/heic",
                  heif: "image/heif", pdf: "application/pdf" };
  var API = "/api/uploads";

  function typeOf(file) {
    if (TYPES[file.type]) return file.type;
    if (file.type && file.type !== "application/octet-stream") return null;
    var ending = (file.name.split(".").pop() || "").toLowerCase();
    return ENDINGS[ending] || null;
  }

  function megabytes(bytes) {
    return bytes < 1024 * 1024 ? Math.max(1, Math.round(bytes / 1024)) + " KB"
      : (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, "") + " MB";
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text) node.textContent = text;
    return node;
  }

  function setup(fieldset) {
    var form = fieldset.closest("form");
    var picker = fieldset.querySelector("[data-af-files-picker]");
    var input = picker.querySelector("input[type=file]");
    var list = picker.querySelector(".af-files-list");
    var ids = fieldset.querySelector("input[type=hidden]");
    ids.dataset.afList = ""; // sent as a JSON list of ids, as the contract types it
    var error = document.getElementById(input.id + "-error");
    var maxFiles = parseInt(fieldset.dataset.afMaxFiles, 10);
    var maxBytes = parseInt(fieldset.dataset.afMaxBytes, 10);
    var kind = form.dataset.afForm;
    var files = [];

    fieldset.querySelector("[data-af-files-nojs]").hidden = true;
    picker.hidden = false;

    function say(message) {
      if (!error) return;
      error.textContent = message;
      error.hidden = !message;
    }

    function refresh() {
      ids.value = files.filter(function (f) { return f.uploadId; }).map(function (f) { return f.uploadId; }).join(",");
      input.disabled = files.length >= maxFiles;
    }

    // `quietly`: the form was emptied after sending; focus stays on its thank-you.
    function remove(entry, quietly) {
      if (entry.request) entry.request.abort();
      files = files.filter(function (f) { return f !== entry; });
      entry.item.remove();
      refresh();
      if (!quietly) input.focus();
    }

    function failed(entry, message) {
      entry.status.textContent = message;
      entry.progress.remove();
      entry.failed = true;
    }

    function send(entry, issued) {
      var body = new FormData();
      Object.keys(issued.fields).forEach(function (name) { body.append(name, issued.fields[name]); });
      body.append("file", entry.file);
      var request = new XMLHttpRequest();
      entry.request = request;
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) entry.progress.value = event.loaded / event.total;
      });
      request.addEventListener("load", function () {
        entry.request = null;
        if (request.status >= 200 && request.status < 300) {
          entry.uploadId = issued.upload_id;
          entry.progress.value = 1;
          entry.status.textContent = t("Uploaded");
          refresh();
        } else {
          failed(entry, t("Not uploaded: storage refused the file. Remove it and try again."));
        }
      });
      request.addEventListener("error", function () {
        entry.request = null;
        failed(entry, t("Not uploaded: we could not reach storage. Remove it and try again."));
      });
      request.open("POST", issued.url);
      request.send(body);
    }

    function add(file) {
      var type = typeOf(file);
      if (!type) return t("“{name}” is not a JPEG, PNG, HEIC or PDF file, so it was not added.", { name: file.name });
      if (file.size > maxBytes) {
        return t("“{name}” is larger than {size}, the most a file can be.", { name: file.name, size: megabytes(maxBytes) });
      }
      if (file.size < 1) return t("“{name}” is empty.", { name: file.name });
      if (files.length >= maxFiles) return t("You can attach at most {n} files.", { n: maxFiles });
      var item = element("li", { class: "af-file" });
      var entry = {
        file: file, item: item,
        progress: element("progress", { max: "1", value: "0", "aria-label": t("Uploading {name}", { name: file.name }) }),
        status: element("span", { class: "af-file__status" }, t("Uploading…"))
      };
      var button = element("button", { type: "button", class: "md-button af-file__remove" }, t("Remove"));
      button.setAttribute("aria-label", t("Remove {name}", { name: file.name }));
      button.addEventListener("click", function () { remove(entry); });
      item.appendChild(element("span", { class: "af-file__name" }, file.name + " (" + megabytes(file.size) + ")"));
      item.appendChild(entry.progress);
      item.appendChild(entry.status);
      item.appendChild(button);
      list.appendChild(item);
      files.push(entry);
      refresh();
      fetch(API, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ form: kind, content_type: type, size: file.size, name: file.name.slice(0, 255) || undefined })
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      }).then(function (answer) {
        if (files.indexOf(entry) < 0) return;  // removed meanwhile
        if (answer.ok) send(entry, answer.data);
        else failed(entry, t("Not uploaded: {reason} Remove it and try again.", { reason: (answer.data && answer.data.message) || t("refused") }));
      }).catch(function () {
        failed(entry, t("Not uploaded: we could not reach our server. Remove it and try again."));
      });
      return "";
    }

    input.addEventListener("change", function () {
      var problems = Array.prototype.map.call(input.files, add).filter(Boolean);
      say(problems.join(" "));
      input.value = "";
    });

    form.addEventListener("reset", function () {
      files.slice().forEach(function (entry) { remove(entry, true); });
      say("");
    });

    // Registered before the form's own sender (capture): a form is not sent while files travel.
    fieldset.afFilesPending = function () {
      return files.some(function (f) { return !f.uploadId && !f.failed; }) ? t("Wait until your files have finished uploading, then send the form.")
        : files.some(function (f) { return f.failed; }) ? t("Remove the files that were not uploaded, then send the form.") : "";
    };
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var fieldset = form.querySelector && form.querySelector("[data-af-files]");
    if (!fieldset || !fieldset.afFilesPending) return;
    var problem = fieldset.afFilesPending();
    if (!problem) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    var error = document.getElementById(fieldset.querySelector("input[type=file]").id + "-error");
    if (error) { error.textContent = problem; error.hidden = false; }
    fieldset.querySelector("input[type=file]").focus();
  }, true);

  function start() {
    document.querySelectorAll("[data-af-files]").forEach(setup);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
