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
