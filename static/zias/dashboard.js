// The dashboard refreshes itself: every 30 seconds it fetches the admin index again and
// swaps in the new dashboard, without reloading the page (so nothing the reader scrolled
// to or opened is lost). A failed fetch keeps the figures shown and tries again later.
(function () {
  "use strict";
  function refresh() {
    var current = document.getElementById("zias-dashboard");
    if (!current || document.hidden) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("zias-dashboard");
        if (fresh) { current.replaceWith(fresh); }
      })
      .catch(function () { /* shown figures stay; the next round tries again */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var node = document.getElementById("zias-dashboard");
    var seconds = node ? parseInt(node.dataset.refreshSeconds, 10) || 30 : 30;
    window.setInterval(refresh, seconds * 1000);
  });
})();
