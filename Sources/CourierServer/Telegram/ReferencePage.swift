/// The page behind a Telegram notification's button. It carries no content: its script asks the
/// API for the reference with the signed-in session the web client keeps in this browser.
enum ReferencePage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Courier</title>
    <style>
    body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; color: #1c1c1e; }
    .message { border: 1px solid #ddd; border-radius: 12px; padding: 1rem; white-space: pre-wrap; }
    .meta { color: #666; font-size: 0.9em; }
    </style>
    </head>
    <body>
    <h1>Courier</h1>
    <div id="out"><p>Opening the message…</p></div>
    <script type="module">
    const out = document.getElementById("out");
    const reference = location.pathname.split("/").pop();
    const token = localStorage.getItem("courier.token");
    function say(text, link) {
      out.textContent = "";
      const p = document.createElement("p");
      p.textContent = text;
      out.append(p);
      if (link) { const a = document.createElement("a"); a.href = link; a.textContent = "Open Courier"; out.append(a); }
    }
    if (!token) {
      say("Sign in to Courier in this browser to read this message.", "/?next=" + encodeURIComponent(location.pathname));
    } else {
      const response = await fetch("/api/v1/references/" + encodeURIComponent(reference), { headers: { Authorization: "Bearer " + token } });
      if (response.ok) {
        const message = await response.json();
        out.textContent = "";
        const meta = document.createElement("p");
        meta.className = "meta";
        meta.textContent = new Date(message.created_at).toLocaleString() + " · " + message.message_type;
        const body = document.createElement("div");
        body.className = "message";
        body.textContent = message.content || message.media_url || "(no text)";
        const open = document.createElement("a");
        open.href = "/#chat=" + message.chat_id;
        open.textContent = "Open the chat";
        out.append(meta, body, open);
      } else if (response.status === 401) {
        say("Your session has ended; sign in again to read this message.", "/?next=" + encodeURIComponent(location.pathname));
      } else {
        say("This message is not available.", "/");
      }
    }
    </script>
    </body>
    </html>
    """#
}
