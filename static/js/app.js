// Site behaviour, loaded as a file: the Content-Security-Policy allows no inline script.
document.addEventListener("click", (event) => {
  const trigger = event.target.closest("[data-confirm]");
  if (trigger && !window.confirm(trigger.dataset.confirm)) {
    event.preventDefault();
  }
});

// "/" jumps to the header's search box, unless the user is typing somewhere.
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) {
    return;
  }
  const target = event.target;
  if (target.closest("input, textarea, select, [contenteditable]")) {
    return;
  }
  const search = document.getElementById("header-search");
  if (!search) {
    return;
  }
  event.preventDefault();
  // On a narrow screen the box sits in the collapsed menu: open it first.
  const menu = search.closest(".collapse");
  if (menu && !menu.classList.contains("show") && window.bootstrap) {
    window.bootstrap.Collapse.getOrCreateInstance(menu).show();
  }
  search.focus();
  search.select();
});

// A bulk-action list's header checkbox ticks or unticks every row's checkbox on the page.
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) {
    return;
  }
  const name = all.dataset.selectAll;
  for (const box of document.querySelectorAll(`input[type=checkbox][name="${name}"]`)) {
    box.checked = all.checked;
  }
});
