/*
 * Aftercare forms: progressive enhancement of the HTML forms the build renders.
 *
 * Without this script every form posts as plain HTML and the API answers with
 * a page of its own. With it, a form sends JSON, shows errors next to the
 * fields (GOV.UK error-summary pattern) and shows the reference in place.
 * It listens on the document, so it needs nothing more if pages are ever
 * swapped without reloading scripts (Material's instant navigation).
 *
 * Its words are English; a page in another language carries their
 * translations in <script id="af-words"> (hooks/site_languages.py), and dates
 * and numbers follow the page's <html lang>.
 */
(function () {
  "use strict";

  var FORM = "form[data-af-form]";
  var shownAt = new WeakMap(); // form -> when it was shown (the anti-spam fill time)
  var fillKeys = new WeakMap(); // form -> Idempotency-Key, one per fill, kept on retry

  if (!window.fetch || !window.crypto || !window.crypto.randomUUID) {
    return; // an old browser keeps the plain HTML path
  }

  function words() {
    var holder = document.getElementById("af-words");
    try { return holder ? JSON.parse(holder.textContent) : {}; } catch (error) { return {}; }
  }

  /* One of this script's sentences in the page's language, with {name} filled in. */
  function t(text, values) {
    var out = words()[text] || text;
    Object.keys(values || {}).forEach(function (name) { out = out.split("{" + name + "}").join(values[name]); });
    return out;
  }

  // The attachments script shares these words.
  window.aftercareWords = t;

  function pageLocale() {
    return document.documentElement.lang === "en" ? "en-GB" : (document.documentElement.lang || "en-GB");
  }

  function markShown() {
    document.querySelectorAll(FORM).forEach(function (form) {
      if (!shownAt.has(form)) {
        shownAt.set(form, Date.now());
        form.noValidate = true;
      }
    });
    document.querySelectorAll("textarea[data-af-maxlength]").forEach(function (box) {
      countCharacters(box, false);
    });
    prefillReference();
    document.querySelectorAll("[data-af-hint-per-product]").forEach(hintForProduct);
  }

  /* A hint that depends on the product (where its serial label is): the chosen one's alone. */
  function hintForProduct(hint) {
    var form = hint.closest("form");
    var chosen = form && form.querySelector('[name="product"]:checked, select[name="product"]');
    var hints = JSON.parse(hint.dataset.afHintPerProduct);
    if (!hint.dataset.afHintAll) hint.dataset.afHintAll = hint.textContent;
    hint.textContent = (chosen && hints[chosen.value]) || hint.dataset.afHintAll;
  }

  document.addEventListener("change", function (event) {
    var control = event.target;
    if (!control.form || control.name !== "product") return;
    control.form.querySelectorAll("[data-af-hint-per-product]").forEach(hintForProduct);
  });

  document.addEventListener("reset", function (event) {
    var form = event.target;
    // The reset itself runs after its event: read the emptied form a moment later.
    setTimeout(function () { form.querySelectorAll("[data-af-hint-per-product]").forEach(hintForProduct); }, 0);
  });

  /* Message boxes: the characters left, live, and past the limit how many too many (never cut). */
  var countAnnouncements = new WeakMap(); // box -> pending screen-reader update

  function countCharacters(box, announce) {
    var limit = parseInt(box.dataset.afMaxlength, 10);
    var counter = document.getElementById(box.id + "-count");
    if (!limit || !counter) return;
    var left = limit - Array.from(box.value).length;
    var many = Math.abs(left);
    var count = { n: many.toLocaleString(pageLocale()) };
    var text = left >= 0
      ? t(many === 1 ? "You have 1 character remaining" : "You have {n} characters remaining", count)
      : t(many === 1 ? "You have 1 character too many" : "You have {n} characters too many", count);
    counter.textContent = text;
    counter.classList.toggle("af-count--over", left < 0);
    if (!announce) return;
    // Said to screen readers once typing pauses, not at every key.
    var status = counter.nextElementSibling && counter.nextElementSibling.classList.contains("af-count__status")
      ? counter.nextElementSibling : null;
    if (!status) {
      status = el("p", { class: "af-visually-hidden af-count__status", "aria-live": "polite" });
      counter.parentNode.insertBefore(status, counter.nextSibling);
    }
    clearTimeout(countAnnouncements.get(box));
    countAnnouncements.set(box, setTimeout(function () { status.textContent = text; }, 1000));
  }

  document.addEventListener("input", function (event) {
    var box = event.target;
    if (box instanceof HTMLTextAreaElement && box.dataset.afMaxlength) countCharacters(box, true);
  });

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(markShown);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", markShown);
  } else {
    markShown();
  }

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function outcomeFor(form) {
    if (form.dataset.afMode !== "submit" && form.dataset.afMode !== "lookup") return form.querySelector(".af-outcome");
    return document.getElementById(form.id + "-outcome");
  }

  function typed(control, value) {
    var type = control.dataset.afType;
    if (type === "boolean") return value === "true";
    if (type === "integer" || type === "number") {
      var number = Number(value);
      return value.trim() !== "" && isFinite(number) ? number : value;
    }
    return value;
  }

  /* The form's fields as JSON: checkboxes as booleans, numbers as numbers, empty ones left out. */
  function body(form, submitter) {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (control) {
      var name = control.name;
      if (!name || control.disabled) return;
      if (control.type === "submit" || control.type === "button") {
        if (control === submitter) data[name] = typed(control, control.value);
        return;
      }
      if (control.type === "checkbox" && control.dataset.afMultiple !== undefined) {
        data[name] = data[name] || [];
        if (control.checked) data[name].push(typed(control, control.value));
        return;
      }
      if (control.type === "checkbox") {
        data[name] = control.checked;
        return;
      }
      if (control.type === "radio") {
        if (control.checked && control.value !== "") data[name] = typed(control, control.value);
        return;
      }
      if (control.dataset.afList !== undefined) {
        var items = control.value.split(/[,\s]+/).filter(Boolean);
        if (items.length) data[name] = items;
        return;
      }
      if (control.value.trim() === "") return;
      data[name] = typed(control, control.value);
    });
    return data;
  }

  function clearErrors(form) {
    var summary = form.querySelector(".af-error-summary");
    if (summary) summary.hidden = true;
    form.querySelectorAll(".af-field--error").forEach(function (field) {
      field.classList.remove("af-field--error");
    });
    form.querySelectorAll(".af-error").forEach(function (message) {
      message.hidden = true;
      message.textContent = "";
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (control) {
      control.removeAttribute("aria-invalid");
      var describedBy = (control.getAttribute("aria-describedby") || "")
        .split(" ")
        .filter(function (id) { return id && !/-error$/.test(id); })
        .join(" ");
      if (describedBy) control.setAttribute("aria-describedby", describedBy);
      else control.removeAttribute("aria-describedby");
    });
  }

  function showProblem(form, message, errors) {
    var summary = form.querySelector(".af-error-summary");
    if (!summary) {
      // The page-helpful vote has no fields to point at: say it in its status line.
      var outcome = outcomeFor(form);
      outcome.textContent = message || (errors && errors[0] && errors[0].message) ||
        t("We could not record your answer. Please try again.");
      outcome.focus();
      return;
    }
    var list = summary.querySelector(".af-error-summary__list");
    var text = summary.querySelector(".af-error-summary__message");
    list.textContent = "";
    text.textContent = message || "";
    (errors || []).forEach(function (error) {
      var field = error.field && form.querySelector('[data-af-field="' + CSS.escape(error.field) + '"]');
      var item = el("li");
      if (!field) {
        item.textContent = error.message;
        list.appendChild(item);
        return;
      }
      var control = field.querySelector("input, select, textarea");
      var link = el("a", { href: "#" + control.id }, error.message);
      item.appendChild(link);
      list.appendChild(item);
      field.classList.add("af-field--error");
      var messageNode = field.querySelector(".af-error");
      messageNode.textContent = "";
      messageNode.appendChild(el("span", { class: "af-visually-hidden" }, t("Error:") + " "));
      messageNode.appendChild(document.createTextNode(error.message));
      messageNode.hidden = false;
      field.querySelectorAll("input, select, textarea").forEach(function (each) {
        each.setAttribute("aria-invalid", "true");
        var ids = (each.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        ids.push(messageNode.id);
        each.setAttribute("aria-describedby", ids.join(" "));
      });
    });
    if (errors && errors.length && !message) text.textContent = "";
    summary.hidden = false;
    summary.focus();
  }

  /*
   * A serial number someone else registered (409): the way to claim it, right under the
   * form, with the name and email typed above carried over. It is one more site form (an
   * enquiry the API fills in: `claim.fields`), so this script sends it and shows its
   * reference like any other. Without JavaScript the API's page draws the same form.
   */
  function showClaim(form, claim) {
    var earlier = document.querySelector('[data-af-claim-for="' + CSS.escape(form.id) + '"]');
    if (earlier) earlier.remove();
    if (!claim || typeof claim.path !== "string" || !claim.fields) return;
    var prefix = form.id + "-claim";
    var section = el("section", { class: "af-claim", "data-af-claim-for": form.id, "aria-labelledby": prefix + "-title" });
    section.appendChild(el("h2", { id: prefix + "-title" }, "Is it yours? Claim it"));
    section.appendChild(el("p", {}, "Send us this form and reply to our email with a photo of your receipt " +
      "as proof of purchase. We check it and, if the product is yours, move the warranty to you."));
    section.appendChild(el("div", { class: "af-outcome", id: prefix + "-outcome", role: "status", tabindex: "-1" }));
    var claimForm = el("form", {
      class: "af-form", id: prefix, action: "/api" + claim.path, method: "post", novalidate: "",
      "data-af-form": "enquiry", "data-af-mode": "submit", "data-af-title": "claim"
    });
    var summary = el("div", { class: "af-error-summary", id: prefix + "-errors", tabindex: "-1", hidden: "" });
    var alert = el("div", { role: "alert" });
    alert.appendChild(el("h2", { class: "af-error-summary__title" }, "There is a problem"));
    alert.appendChild(el("p", { class: "af-error-summary__message" }));
    alert.appendChild(el("ul", { class: "af-error-summary__list" }));
    summary.appendChild(alert);
    claimForm.appendChild(summary);
    Object.keys(claim.fields).forEach(function (name) {
      if (name !== "message") claimForm.appendChild(el("input", { type: "hidden", name: name, value: claim.fields[name] }));
    });
    function typedAbove(name) {
      var control = form.querySelector('[name="' + name + '"]');
      return control ? control.value : "";
    }
    [
      ["name", "Your name", el("input", { name: "name", autocomplete: "name", maxlength: "120", value: typedAbove("name") })],
      ["email", "Email address", el("input", { name: "email", type: "email", autocomplete: "email", maxlength: "254", spellcheck: "false", value: typedAbove("email") })],
      ["message", "Your message", el("textarea", { name: "message", rows: "5" }, claim.fields.message || "")]
    ].forEach(function (each) {
      var id = prefix + "-" + each[0];
      var field = el("div", { class: "af-field", "data-af-field": each[0] });
      field.appendChild(el("label", { class: "af-label", for: id }, each[1]));
      field.appendChild(el("p", { class: "af-error", id: id + "-error", hidden: "" }));
      each[2].id = id;
      field.appendChild(each[2]);
      claimForm.appendChild(field);
    });
    claimForm.appendChild(el("button", { type: "submit", class: "md-button md-button--primary af-submit" }, "Send my claim"));
    section.appendChild(claimForm);
    form.parentNode.insertBefore(section, form.nextSibling);
    // The time spent on the form above counts as the claim's fill time: its answers carry over.
    shownAt.set(claimForm, shownAt.get(form) || Date.now());
    // The summary above, which has the focus, says where to go next.
    var summaryList = form.querySelector(".af-error-summary__list");
    if (summaryList) {
      var item = el("li");
      item.appendChild(el("a", { href: "#" + prefix + "-name" }, "Is it yours? Claim it with your proof of purchase"));
      summaryList.appendChild(item);
    }
  }

  function retryAfter(response) {
    var seconds = parseInt(response.headers.get("Retry-After") || "", 10);
    if (!(seconds > 0)) return " " + t("Please try again in a moment.");
    return " " + t(seconds === 1 ? "Please try again in 1 second." : "Please try again in {n} seconds.", { n: seconds });
  }

  function problemMessage(response, data) {
    var message = data && typeof data.message === "string" ? data.message : "";
    switch (response.status) {
      case 413: return message || t("That is more than we can take in one form. Please shorten your message.");
      case 415: return message || t("Your browser sent the form in a way we could not read. Please try again.");
      case 429:
      case 503: return (message || t("We are very busy right now; nothing was lost.")) + retryAfter(response);
      default: return message || t("Something went wrong on our side ({status}). What you typed is still here; please try again.", { status: response.status });
    }
  }

  function dateText(iso) {
    var date = new Date(iso + "T00:00:00");
    if (isNaN(date.getTime())) return iso;
    return date.toLocaleDateString(pageLocale(), { day: "numeric", month: "long", year: "numeric" });
  }

  function showWarranty(form, data) {
    var outcome = outcomeFor(form);
    outcome.textContent = "";
    outcome.appendChild(el("h2", {}, t(data.under_warranty ? "Your product is under warranty" : "Your warranty has ended")));
    outcome.appendChild(factList([
      [t("Product"), data.product_name || data.product],
      [t("Registered on"), dateText(data.registered_on)],
      [t(data.under_warranty ? "Warranty ends on" : "Warranty ended on"), dateText(data.expires_on)]
    ]));
    reveal(outcome);
  }

  /* "Track a request": the status in plain words, the facts, the steps and our messages. */
  function showCase(form, data) {
    var outcome = outcomeFor(form);
    outcome.textContent = "";
    outcome.appendChild(el("h2", {}, t("Your {request}", { request: String(data.title || t("request")).toLowerCase() })));
    outcome.appendChild(el("p", { class: "af-status" }, data.status_words));
    var facts = el("dl", { class: "af-facts" });
    [
      [t("Reference"), data.reference],
      [t("Received on"), dateText(data.received_on)],
      [t("Handled by"), data.handler],
      [t("Visit window"), data.visit_window],
      [t("What happens next"), data.next_step],
      [t("We promised this by"), data.next_step_due_on && dateText(data.next_step_due_on)]
    ].forEach(function (pair) {
      if (!pair[1]) return;
      facts.appendChild(el("dt", {}, pair[0]));
      facts.appendChild(el("dd", {}, pair[1]));
    });
    outcome.appendChild(facts);
    outcome.appendChild(el("h3", {}, t("What has happened so far")));
    var steps = el("ol", {});
    (data.steps || []).forEach(function (step) {
      steps.appendChild(el("li", {}, dateText(step.on) + ": " + step.words));
    });
    outcome.appendChild(steps);
    if ((data.messages || []).length) {
      outcome.appendChild(el("h3", {}, t("Messages from us")));
      var messages = el("ul", { class: "af-messages" });
      data.messages.forEach(function (message) {
        var item = el("li", {});
        item.appendChild(el("p", {}, dateText(message.on)));
        item.appendChild(el("p", {}, message.message));
        messages.appendChild(item);
      });
      outcome.appendChild(messages);
    }
    reveal(outcome);
  }

  /* A link from our emails may carry the reference (never the email address). */
  function prefillReference() {
    var reference = new URLSearchParams(window.location.search).get("reference");
    var field = document.querySelector('form[data-af-form="track"] input[name="reference"]');
    if (reference && field && !field.value) field.value = reference.slice(0, 20);
  }

  function showReceived(form, data) {
    var outcome = outcomeFor(form);
    outcome.textContent = "";
    if (form.dataset.afMode === "vote" || form.dataset.afMode === "vote-comment") {
      showVoted(form, data);
      return;
    }
    outcome.appendChild(el("h2", {}, t("Thank you, we have your {form}", { form: form.dataset.afTitle || t("form") })));
    var line = el("p", {}, t("Your reference is") + " ");
    line.appendChild(el("strong", { class: "af-reference" }, data.reference));
    line.appendChild(document.createTextNode(t(". Please quote it if you contact us about this.")));
    outcome.appendChild(line);
    var facts = workedOut(data);
    if (facts.length) outcome.appendChild(factList(facts));
    // Emptied first: a form that shrinks (its files gone) must not move the thanks out of view.
    form.reset();
    form.querySelectorAll("textarea[data-af-maxlength]").forEach(function (box) { countCharacters(box, false); });
    reveal(outcome);
  }

  /* An answer in place: focused for screen readers and scrolled to, clear of the sticky header. */
  function reveal(outcome) {
    outcome.focus({ preventScroll: true });
    outcome.scrollIntoView({ block: "start" });
  }

  /* The note a vote leads to, the one the page shows without JavaScript at the #fragment. */
  function showVoted(form, data) {
    var section = form.closest(".af-helpful");
    var note = section && section.querySelector("#" + CSS.escape(data.thanks_at || ""));
    if (!note) return;
    section.classList.add("af-helpful--voted");
    section.querySelectorAll(".af-helpful__after").forEach(function (each) {
      each.classList.toggle("af-helpful__after--shown", each === note);
    });
    note.focus();
  }

  /* What the API worked out from the form, as the thank-you page shows it without JavaScript. */
  function workedOut(data) {
    if (data.expires_on) {
      return [[t("Product"), data.product_name || data.product], [t("Warranty ends on"), dateText(data.expires_on)]];
    }
    if (data.return_window_ends_on) {
      return [
        [t("Return window"), t(data.inside_return_window ? "open until {date}" : "ended on {date}", { date: dateText(data.return_window_ends_on) })],
        [t("Warranty"), t(data.under_warranty ? "ends on {date}" : "ended on {date}", { date: dateText(data.warranty_expires_on) })]
      ];
    }
    return [];
  }

  function factList(pairs) {
    var facts = el("dl", { class: "af-facts" });
    pairs.forEach(function (pair) {
      facts.appendChild(el("dt", {}, pair[0]));
      facts.appendChild(el("dd", {}, pair[1]));
    });
    return facts;
  }

  function send(form, submitter) {
    if (form.getAttribute("aria-busy") === "true") return;
    var key = fillKeys.get(form) || window.crypto.randomUUID();
    fillKeys.set(form, key);
    clearErrors(form);
    showClaim(form, null);
    var outcome = outcomeFor(form);
    if (outcome && form.dataset.afMode !== "vote") outcome.textContent = "";
    form.setAttribute("aria-busy", "true");
    var started = shownAt.get(form) || Date.now();

    fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Idempotency-Key": key,
        "X-Form-Fill-Ms": String(Date.now() - started)
      },
      body: JSON.stringify(body(form, submitter))
    })
      .then(function (response) {
        return response.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (ignored) { data = null; }
          return { response: response, data: data };
        });
      })
      .then(function (answer) {
        var response = answer.response;
        var data = answer.data || {};
        if (response.ok && form.dataset.afMode === "lookup") {
          (form.dataset.afForm === "track" ? showCase : showWarranty)(form, data);
        } else if (response.ok) {
          fillKeys.delete(form);
          shownAt.set(form, Date.now());
          showReceived(form, data);
        } else if ((response.status === 400 || response.status === 409) && Array.isArray(data.errors) && data.errors.length) {
          showProblem(form, "", data.errors);
          showClaim(form, response.status === 409 ? data.claim : null);
        } else {
          showProblem(form, problemMessage(response, data), []);
        }
      })
      .catch(function () {
        showProblem(form, t("We could not reach our server. Check your connection and try again; what you typed is still here."), []);
      })
      .then(function () {
        form.removeAttribute("aria-busy");
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches(FORM)) return;
    event.preventDefault();
    send(form, event.submitter);
  });

  /* Error-summary links move focus to the field itself, not just scroll to it. */
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".af-error-summary__list a");
    if (!link) return;
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    event.preventDefault();
    var field = target.closest(".af-field");
    (field || target).scrollIntoView({ block: "start" });
    target.focus({ preventScroll: true });
  });
})();
