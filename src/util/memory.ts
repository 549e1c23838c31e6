/**
 * Gives a buffer's memory back at once. A Buffer's bytes live outside the V8
 * heap and are freed only when the Buffer object is collected; one that
 * lived a while has been promoted and waits for a full collection, which
 * under steady load may be minutes and tens of MiB away. Detaching its
 * ArrayBuffer (`transfer(0)`) frees them now.
 *
 * Only for a buffer that owns its whole ArrayBuffer (Buffer.allocUnsafeSlow,
 * or a growth of one): never a slice of Node's shared pool. The buffer and
 * every view of it are empty afterwards, so a stale reader sees nothing
 * rather than someone else's bytes.
 */
export function discard(buf: Buffer): void {
  const ab = buf.buffer as ArrayBuffer & {
    transfer?: (length: number) => ArrayBuffer;
  };
  if (buf.byteOffset !== 0 || buf.length !== ab.byteLength) return;
  ab.transfer?.(0);
}

/**
 * Stops V8 from growing its young generation past its initial size (1 MiB
 * semi-spaces). V8 grows it with the load, to 8-32 MiB on a large host,
 * and never gives it back while the load lasts: under 10,000-event batches
 * that was 6 MiB of the extension's peak RSS (measured by npm run bench;
 * throughput unchanged, our pipeline keeps little alive across a young
 * collection).
 *
 * Set at run time, after the modules have loaded, not as a command-line
 * flag: any V8 flag on the command line made Node discard the code cache
 * of its built-in modules, about 15 ms more init on every cold start. The
 * growth factor is read each time the young generation would grow, so
 * setting it late takes effect.
 */
export function keepYoungGenerationSmall(): void {
  try {
    const v8 = process.getBuiltinModule('node:v8') as typeof import('node:v8');
    v8.setFlagsFromString('--semi-space-growth-factor=1');
  } catch {
    // Only a memory tuning: without it the extension works the same.
  }
}
