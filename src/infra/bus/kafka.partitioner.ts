// Kafka's default key partitioner, as the Java client computes it (Utils.murmur2, made positive,
// modulo the partition count), in 32-bit integer arithmetic. The client's own port works on
// BigInts and cost about as much as encoding the records; the modulo is the client's.
export function murmur2(data: Buffer): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  switch (length & 3) {
    case 3:
      h ^= data[whole + 2] << 16;
    // falls through
    case 2:
      h ^= data[whole + 1] << 8;
    // falls through
    case 1:
      h ^= data[whole];
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partitioner option of the producer: the positive hash; the client takes it modulo the partitions. */
export function javaCompatiblePartitioner(_message: unknown, key: Buffer | undefined): number {
  return key ? murmur2(key) & 0x7fffffff : 0;
}
