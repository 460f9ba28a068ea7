// Inside Shopify admin: every link and form of the app gets a fresh session token from
// App Bridge (tokens last a minute; the admin frames us, so no cookie carries the sign-in).
(function () {
  "use strict";
  function withToken(address) {
    return window.shopify.idToken().then(function (token) {
      var url = new URL(address, window.location.href);
      url.searchParams.set("id_token", token);
      return url;
    });
  }
  function ours(url) { return url.origin === window.location.origin && url.pathname.indexOf("/shopify/app") === 0; }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href]");
    if (!link || !window.shopify || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
    var url = new URL(link.href, window.location.href);
    if (!ours(url)) return;
    event.preventDefault();
    withToken(url).then(function (target) { window.location.assign(target.toString()); });
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!window.shopify) return;
    if ((form.method || "get").toLowerCase() === "post") {
      // an action: the form posts with a fresh session token beside its CSRF token
      var target = new URL(form.action || window.location.href, window.location.href);
      if (!ours(target)) return;
      event.preventDefault();
      window.shopify.idToken().then(function (token) {
        var field = form.querySelector("input[name=id_token]") || document.createElement("input");
        field.type = "hidden";
        field.name = "id_token";
        field.value = token;
        form.appendChild(field);
        form.submit();  // no submit event again: this runs once
      });
      return;
    }
    event.preventDefault();
    var url = new URL(form.action || window.location.href, window.location.href);
    url.search = new URLSearchParams(new FormData(form)).toString();
    if (ours(url)) withToken(url).then(function (target) { window.location.assign(target.toString()); });
  });
})();
