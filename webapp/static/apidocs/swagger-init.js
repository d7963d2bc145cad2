// Kept out of the page so the Content-Security-Policy can forbid inline script.
const container = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({ url: container.dataset.specUrl, dom_id: "#swagger-ui", deepLinking: true });
