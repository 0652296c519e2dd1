// One turn of the host's event loop, as short as the host allows. run() yields every few
// milliseconds so that serial input, a quit request and a page's own work get through.
//
// Node has setImmediate (its setTimeout(0) waits about a millisecond). A browser has none, and
// its setTimeout(0) is clamped to 4 ms or more once timers chain five deep (HTML's timer
// nesting rule): run()'s yields every 20 ms then cost a fifth of its wall time. A message
// posted to a MessageChannel is a task of its own, and no clamping applies to it.

let channel: MessageChannel | undefined;
/** Resolvers waiting for their message, in the order the messages were posted. */
const waiting: (() => void)[] = [];

export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => {
    if (typeof setImmediate === "function") setImmediate(resolve);
    else if (typeof MessageChannel === "function") {
      waiting.push(resolve);
      messageChannel().port2.postMessage(null);
    } else setTimeout(resolve, 0);
  });
}

function messageChannel(): MessageChannel {
  if (channel === undefined) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => waiting.shift()?.();
    // Node's ports keep the process alive while they listen; a yield must not.
    (channel.port1 as { unref?: () => void }).unref?.();
  }
  return channel;
}
