// CloudFront Function (cloudfront-js-2.0) on the app's default behaviour only:
// a path whose last segment has no file extension is a route of the single-page
// app (/, /executions/01J..., /analytics), so the bucket is asked for /index.html.
// Files (/assets/app.js, /config.json) pass unchanged; the API's paths never
// reach this behaviour (their own cache behaviours go to API Gateway).
function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
