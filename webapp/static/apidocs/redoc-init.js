// Kept out of the page so the Content-Security-Policy can forbid inline script.
const container = document.getElementById("redoc");
Redoc.init(container.dataset.specUrl, {}, container);
