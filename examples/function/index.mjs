// The demo's function: an ordinary Node.js Lambda handler, run by AWS's
// runtime interface client (aws-lambda-ric) under the local emulator. Its
// log calls reach the Telemetry API the way Lambda's Node runtime sends
// them; `npm start -- --function examples/function/index.mjs --event
// examples/function/event.json` runs it on its own.
let invocations = 0;

export const handler = async (event, context) => {
  invocations++;
  console.log('order received', { orderId: event.orderId, items: event.items?.length ?? 0 });
  console.debug(`cache ${invocations === 1 ? 'miss' : 'hit'} for key customer:${event.customer ?? 'anonymous'}`);
  if (event.slowMs) {
    console.warn(`slow downstream: waiting ${event.slowMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, event.slowMs));
  }
  if (event.fail) {
    console.error('payment declined for', event.orderId);
    throw new TypeError(`card declined: ${event.fail}`);
  }
  const total = (event.items ?? []).reduce((sum, i) => sum + i.price * i.quantity, 0);
  console.info(`order ${event.orderId} priced\n  total ${total.toFixed(2)}\n  remaining ${context.getRemainingTimeInMillis()} ms`);
  process.stdout.write('a bare line written straight to stdout\n');
  return { orderId: event.orderId, total };
};
