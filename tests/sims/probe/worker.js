// A subscribing module for the end-to-end tests: the dispatcher hands it events over
// its service binding like any module; it forwards each one to the subscriber
// simulator (tests/sims/subscriber.py) and answers with the simulator's status.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname !== "/_internal/events" || request.method !== "POST") {
      return new Response("not found", { status: 404 });
    }
    const answer = await fetch(`${env.PROBE_URL}/deliver`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: await request.text(),
    });
    return new Response(await answer.text(), { status: answer.status });
  },
};
