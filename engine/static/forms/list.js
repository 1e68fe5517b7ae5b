/* List page: saved views (private to their owner). */
(function () {
  "use strict";
  var form = document.querySelector("[data-lw-list]");
  if (!form) { return; }
  var texts = JSON.parse(document.getElementById("lw-list-texts").textContent);
  var saveBtn = form.querySelector("[data-save-view]");
  saveBtn.addEventListener("click", function () {
    var name = window.prompt(texts.view_name);
    if (!name) { return; }
    var params = new URLSearchParams(window.location.search);
    params.delete("page");
    lw.api("POST", form.dataset.views, {name: name, query: params.toString()}).then(function (r) {
      if (r.ok) { window.location.reload(); } else { window.alert(r.data && r.data.error ? r.data.error.message : r.status); }
    });
  });
  document.querySelectorAll("[data-delete-view]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      lw.api("DELETE", "/api/views/" + btn.dataset.deleteView).then(function (r) { if (r.ok) { btn.parentNode.remove(); } });
    });
  });
})();
