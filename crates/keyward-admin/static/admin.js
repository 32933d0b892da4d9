// Keyward admin center: small enhancements. Every page works without this file.
"use strict";
(function () {
  // Times in the browser's time zone; the ISO value stays in the title (shown on hover).
  for (const el of document.querySelectorAll("time[datetime]")) {
    const when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) {
      el.textContent = when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      el.title = el.getAttribute("datetime");
    }
  }
  // Copy buttons: <button class="copy" data-copy="ID of the element whose text to copy">.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        const label = button.textContent;
        button.textContent = "Copied";
        setTimeout(() => (button.textContent = label), 1500);
      } catch {
        window.getSelection().selectAllChildren(source);
      }
    });
  }
  // Confirmation dialogs: a form with data-confirm="question" asks first, in a <dialog>, then
  // is sent with confirmed=yes. (Without this script the server asks on a page of its own.)
  const dialog = document.getElementById("confirm");
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (form.dataset.confirmed === "yes" || !dialog) return;
      event.preventDefault();
      dialog.querySelector("[data-question]").textContent = form.dataset.confirm;
      dialog.returnValue = "";
      dialog.showModal();
      dialog.addEventListener(
        "close",
        () => {
          if (dialog.returnValue === "yes") {
            form.dataset.confirmed = "yes";
            if (form.elements.confirmed) form.elements.confirmed.value = "yes";
            form.requestSubmit();
          }
        },
        { once: true },
      );
    });
  }
})();
