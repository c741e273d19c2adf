// A module for the end-to-end tests: the dispatcher hands it events and the jobs
// worker hands it the probe job types over its service binding, like any module;
// it forwards each hand-over to the simulator (tests/sims/subscriber.py) and
// answers with the simulator's status (and Retry-After).
const ROUTES = { "/_internal/events": "/deliver", "/_internal/jobs": "/job" };

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const target = ROUTES[url.pathname];
    if (!target || request.method !== "POST") {
      return new Response("not found", { status: 404 });
    }
    const headers = { "content-type": "application/json" };
    const traceparent = request.headers.get("traceparent");
    if (traceparent) headers.traceparent = traceparent;
    const answer = await fetch(`${env.PROBE_URL}${target}`, {
      method: "POST",
      headers,
      body: await request.text(),
    });
    const out = new Headers({ "content-type": "application/json" });
    const retryAfter = answer.headers.get("retry-after");
    if (retryAfter) out.set("retry-after", retryAfter);
    const text = await answer.text();
    // A 204 or 205 must carry no body at all (workerd warns on an empty one).
    const body = answer.status === 204 || answer.status === 205 ? null : text;
    return new Response(body, { status: answer.status, headers: out });
  },
};
