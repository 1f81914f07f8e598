// The console's only script: photos open large in a <dialog> (previous/next by key, button
// or swipe), and the keyboard moves through photos (J/K) and findings (N/P). Shortcuts never
// type into a field: N/P select the finding's row, not its reason box. Pages work without
// it; it adds speed.
(function () {
  "use strict";
  var box = document.getElementById("lightbox");
  var photos = Array.prototype.slice.call(document.querySelectorAll("[data-photo] img"));
  var findings = Array.prototype.slice.call(document.querySelectorAll("[data-finding]"));
  var current = -1;
  var finding = -1;

  function show(index) {
    if (!box || !photos.length) return;
    current = (index + photos.length) % photos.length;
    var img = photos[current];
    box.querySelector("img").src = img.dataset.preview || img.src;
    box.querySelector("[data-original]").href = img.dataset.original || img.src;
    box.querySelector("[data-caption]").textContent =
      (img.dataset.caption || img.alt) + "（" + (current + 1) + " / " + photos.length + "）";
    if (!box.open) box.showModal();
    select(current);
  }

  function select(index) {
    photos.forEach(function (img, i) {
      img.closest("[data-photo]").classList.toggle("current", i === index);
    });
    current = index;
    photos[index].focus({ preventScroll: true });
    photos[index].scrollIntoView({ block: "center", behavior: "smooth" });
  }

  function goFinding(step) {
    if (!findings.length) return;
    finding = (finding + step + findings.length) % findings.length;
    findings.forEach(function (row, i) { row.classList.toggle("current", i === finding); });
    findings[finding].scrollIntoView({ block: "center", behavior: "smooth" });
    // The row takes the focus (Tab then reaches its form); a field would take the next key.
    findings[finding].setAttribute("tabindex", "-1");
    findings[finding].focus({ preventScroll: true });
  }

  photos.forEach(function (img, i) {
    img.addEventListener("click", function () { show(i); });
    img.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); show(i); }
    });
  });
  if (box) {
    box.querySelector("[data-close]").addEventListener("click", function () { box.close(); });
    box.addEventListener("click", function (e) { if (e.target === box) box.close(); });
    box.querySelector("[data-prev]").addEventListener("click", function () { show(current - 1); });
    box.querySelector("[data-next]").addEventListener("click", function () { show(current + 1); });
    // A swipe across the photo (touch): left for the next, right for the previous.
    var startX = null, startY = null;
    box.addEventListener("touchstart", function (e) {
      if (e.touches.length !== 1) { startX = null; return; }
      startX = e.touches[0].clientX; startY = e.touches[0].clientY;
    }, { passive: true });
    box.addEventListener("touchend", function (e) {
      if (startX === null) return;
      var dx = e.changedTouches[0].clientX - startX, dy = e.changedTouches[0].clientY - startY;
      startX = null;
      if (Math.abs(dx) > 40 && Math.abs(dx) > 1.5 * Math.abs(dy)) show(current + (dx < 0 ? 1 : -1));
    });
  }
  // Bulk work: the bar counts the ticked boxes; "全选待审核问题" (shown only with this
  // script) ticks or clears every pending finding.
  var bulk = document.querySelector("[data-bulk-form]");
  if (bulk) {
    var items = Array.prototype.slice.call(
      document.querySelectorAll("[data-bulk-item][form='" + bulk.id + "']"));
    var all = bulk.querySelector("[data-bulk-all]");
    var count = bulk.querySelector("[data-bulk-count]");
    var hint = count ? count.textContent : "";
    var recount = function () {
      var n = items.filter(function (box) { return box.checked; }).length;
      if (count) count.textContent = n ? "已选 " + n + " 项" : hint;
    };
    items.forEach(function (box) { box.addEventListener("change", recount); });
    if (all) {
      all.closest("label").hidden = false;
      all.addEventListener("change", function () {
        items.forEach(function (box) {
          if (box.hasAttribute("data-pending") && !box.disabled) box.checked = all.checked;
        });
        recount();
      });
    }
    recount();
  }
  // The checklist item form shows the chosen kind's own settings only.
  var kind = document.querySelector(".item-form select[name=kind]");
  if (kind) {
    var showKind = function () {
      document.querySelectorAll(".kind-settings").forEach(function (set) {
        set.hidden = set.dataset.kind.split(" ").indexOf(kind.value) < 0;
      });
    };
    kind.addEventListener("change", showKind);
    showKind();
  }

  // The checklist builder on a phone: one section open at a time (the one the page
  // returned to after an edit, else the first); the others fold to their titles.
  var folds = Array.prototype.slice.call(document.querySelectorAll("details.draft-section"));
  if (folds.length > 1 && window.matchMedia("(max-width: 700px)").matches) {
    var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
    var keep = (target && target.closest("details.draft-section")) || folds[0];
    folds.forEach(function (fold) {
      fold.open = fold === keep;
      fold.addEventListener("toggle", function () {  // opening one folds the others
        if (fold.open) folds.forEach(function (other) { if (other !== fold) other.open = false; });
      });
    });
    if (target) target.scrollIntoView({ block: "start" });
  }

  // After a refused form the page returns to it: its message is in sight, not at the top.
  var refusal = document.querySelector(".refusal[role=alert]");
  if (refusal) refusal.scrollIntoView({ block: "center" });

  document.addEventListener("keydown", function (e) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) ||
      e.target.isContentEditable;
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    var open = box && box.open;
    var key = e.key.toLowerCase();
    if (key === "j" || (open && e.key === "ArrowRight")) {
      e.preventDefault();
      if (open) show(current + 1); else if (photos.length) select((current + 1) % photos.length);
    } else if (key === "k" || (open && e.key === "ArrowLeft")) {
      e.preventDefault();
      if (open) show(current - 1);
      else if (photos.length) select((current - 1 + photos.length) % photos.length);
    } else if (key === "n") {
      e.preventDefault(); goFinding(1);
    } else if (key === "p") {
      e.preventDefault(); goFinding(-1);
    }
  });
})();
