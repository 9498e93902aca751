import { isIP } from 'node:net';

/**
 * A MaxMind DB (format 2.0, https://maxmind.github.io/MaxMind-DB/) writer for tests: no real
 * geo-IP database may be shipped or downloaded, so tests build their own. IPv6 tree, IPv4
 * networks under ::/96 as the spec says, 24-bit records, no pointers in the data section.
 */

/** A value of the data section: maps, arrays, UTF-8 strings, numbers, booleans. */
export type MmdbValue = string | number | bigint | boolean | MmdbDouble | MmdbValue[] | { [key: string]: MmdbValue };

/** A number written as a double even when it is whole (latitude 51 stays a double, as MaxMind writes it). */
export class MmdbDouble {
  constructor(readonly value: number) {}
}
export const double = (value: number) => new MmdbDouble(value);

export interface MmdbEntry {
  /** CIDR, IPv4 ('81.2.69.0/24') or IPv6 ('2a02:d8::/32'). */
  network: string;
  data: MmdbValue;
}

export interface MmdbOptions {
  databaseType?: string;
  languages?: string[];
  description?: Record<string, string>;
  /** Seconds since the epoch. */
  buildEpoch?: number;
}

const RECORD_SIZE = 24; // bits
const NODE_BYTES = (2 * RECORD_SIZE) / 8; // a left and a right record
const MAX_RECORD = 2 ** RECORD_SIZE - 1;
const DATA_SECTION_SEPARATOR = Buffer.alloc(16);
const METADATA_START = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com')]);
const IPV4_IN_IPV6_BITS = 96; // ::a.b.c.d

// Data types of the spec's data section; 8 and above are "extended" (stored as type - 7 in a second byte).
const TYPE = { utf8: 2, double: 3, uint16: 5, uint32: 6, map: 7, uint64: 9, array: 11, boolean: 14 } as const;

/** Builds the bytes of a MaxMind DB holding these networks; inside a network, a longer prefix wins. */
export function buildMmdb(entries: MmdbEntry[], options: MmdbOptions = {}): Buffer {
  const root = new TreeNode();
  // Shorter prefixes first, so a more specific network splits the leaf of the one around it.
  const networks = entries.map((entry) => ({ bits: networkBits(entry.network), data: entry.data })).sort((a, b) => a.bits.length - b.bits.length);
  for (const { bits, data } of networks) insert(root, bits, data);

  const nodes = numberNodes(root);
  const data = new DataSection();
  const tree = Buffer.alloc(nodes.length * NODE_BYTES);
  nodes.forEach((node, i) =>
    node.records.forEach((record, side) => {
      // A record is a node number, node_count for "no data", or node_count + 16 + an offset in the data section.
      const value =
        record === undefined ? nodes.length
        : record instanceof TreeNode ? record.index!
        : nodes.length + DATA_SECTION_SEPARATOR.length + data.offsetOf(record.data);
      if (value > MAX_RECORD) throw new Error(`record ${value} does not fit ${RECORD_SIZE} bits`);
      tree.writeUIntBE(value, i * NODE_BYTES + side * (RECORD_SIZE / 8), RECORD_SIZE / 8);
    }),
  );
  const metadata = encode({
    node_count: uint32(nodes.length),
    record_size: uint16(RECORD_SIZE),
    ip_version: uint16(6),
    database_type: options.databaseType ?? 'GeoLite2-City',
    languages: options.languages ?? ['en'],
    binary_format_major_version: uint16(2),
    binary_format_minor_version: uint16(0),
    build_epoch: BigInt(options.buildEpoch ?? Math.floor(Date.now() / 1000)),
    description: options.description ?? { en: 'Test geo-IP database' },
  });
  return Buffer.concat([tree, DATA_SECTION_SEPARATOR, data.bytes(), METADATA_START, metadata]);
}

class Leaf {
  constructor(readonly data: MmdbValue) {}
}

class TreeNode {
  records: [TreeNode | Leaf | undefined, TreeNode | Leaf | undefined] = [undefined, undefined];
  index: number | undefined;
}

function insert(root: TreeNode, bits: number[], data: MmdbValue) {
  let node = root;
  for (const bit of bits.slice(0, -1)) {
    const next = node.records[bit as 0 | 1];
    if (next instanceof TreeNode) {
      node = next;
      continue;
    }
    const child = new TreeNode();
    // Inside a wider network already stored: both halves keep its data until overwritten below.
    if (next instanceof Leaf) child.records = [next, next];
    node.records[bit as 0 | 1] = child;
    node = child;
  }
  node.records[bits.at(-1) as 0 | 1] = new Leaf(data);
}

/** Numbers the nodes breadth-first; the root must be node 0. */
function numberNodes(root: TreeNode): TreeNode[] {
  const nodes: TreeNode[] = [];
  const queue = [root];
  for (let node = queue.shift(); node; node = queue.shift()) {
    node.index = nodes.length;
    nodes.push(node);
    for (const record of node.records) if (record instanceof TreeNode) queue.push(record);
  }
  return nodes;
}

/** The bits of a network's prefix in the IPv6 tree, IPv4 under ::/96. */
function networkBits(network: string): number[] {
  const [address = '', length] = network.split('/');
  const version = isIP(address);
  const prefix = Number(length);
  const width = version === 4 ? 32 : 128;
  if (version === 0 || !/^\d+$/.test(length ?? '') || prefix < 1 || prefix > width) throw new Error(`not a network: ${network}`);
  const bytes = version === 4 ? address.split('.').map(Number) : ipv6Bytes(address);
  const bits = bytes.flatMap((byte) => [7, 6, 5, 4, 3, 2, 1, 0].map((shift) => (byte >> shift) & 1)).slice(0, prefix);
  return version === 4 ? [...new Array<number>(IPV4_IN_IPV6_BITS).fill(0), ...bits] : bits;
}

function ipv6Bytes(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return all.flatMap((group) => [group >> 8, group & 0xff]);
}

/** The data section: each distinct value once, found by its encoding. */
class DataSection {
  private readonly chunks: Buffer[] = [];
  private readonly offsets = new Map<string, number>();
  private size = 0;

  offsetOf(value: MmdbValue): number {
    const bytes = encode(value);
    const key = bytes.toString('hex');
    let offset = this.offsets.get(key);
    if (offset === undefined) {
      offset = this.size;
      this.offsets.set(key, offset);
      this.chunks.push(bytes);
      this.size += bytes.length;
    }
    return offset;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** An integer of a width the metadata section prescribes. */
class Sized {
  constructor(readonly type: typeof TYPE.uint16 | typeof TYPE.uint32, readonly value: number) {}
}
type Field = MmdbValue | Sized | Field[] | { [key: string]: Field };
const uint16 = (value: number) => new Sized(TYPE.uint16, value);
const uint32 = (value: number) => new Sized(TYPE.uint32, value);

/** One field: control byte(s) with type and size, then the payload (spec: "Data Field Format"). */
function encode(value: Field): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([control(TYPE.utf8, bytes.length), bytes]);
  }
  if (typeof value === 'boolean') return control(TYPE.boolean, value ? 1 : 0);
  if (typeof value === 'bigint') return unsigned(TYPE.uint64, value, 8);
  if (value instanceof Sized) return unsigned(value.type, BigInt(value.value), value.type === TYPE.uint16 ? 2 : 4);
  if (value instanceof MmdbDouble || (typeof value === 'number' && !Number.isInteger(value))) {
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleBE(value instanceof MmdbDouble ? value.value : value);
    return Buffer.concat([control(TYPE.double, 8), bytes]);
  }
  if (typeof value === 'number') {
    if (value < 0 || value > 0xffffffff) throw new Error(`${value} is not an unsigned 32-bit integer; pass a bigint or double()`);
    return value <= 0xffff ? unsigned(TYPE.uint16, BigInt(value), 2) : unsigned(TYPE.uint32, BigInt(value), 4);
  }
  if (Array.isArray(value)) return Buffer.concat([control(TYPE.array, value.length), ...value.map(encode)]);
  const entries = Object.entries(value);
  return Buffer.concat([control(TYPE.map, entries.length), ...entries.flatMap(([key, item]) => [encode(key), encode(item)])]);
}

/** Big-endian with leading zero bytes left out, as the spec allows (zero has no payload at all). */
function unsigned(type: number, value: bigint, maxBytes: number): Buffer {
  if (value < 0n) throw new Error(`${value} is negative; MaxMind DB unsigned types cannot hold it`);
  const bytes: number[] = [];
  for (let rest = value; rest > 0n; rest >>= 8n) bytes.unshift(Number(rest & 0xffn));
  if (bytes.length > maxBytes) throw new Error(`${value} does not fit ${maxBytes} bytes`);
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)]);
}

function control(type: number, size: number): Buffer {
  let sizeBits: number;
  let sizeBytes: number[];
  if (size < 29) [sizeBits, sizeBytes] = [size, []];
  else if (size < 285) [sizeBits, sizeBytes] = [29, [size - 29]];
  else if (size < 65_821) [sizeBits, sizeBytes] = [30, [(size - 285) >> 8, (size - 285) & 0xff]];
  else if (size < 16_843_037) [sizeBits, sizeBytes] = [31, [(size - 65_821) >> 16, ((size - 65_821) >> 8) & 0xff, (size - 65_821) & 0xff]];
  else throw new Error(`a field of ${size} is too large`);
  // Extended types: type 0 in the control byte, the real type minus 7 in the next, then the size bytes.
  const extended = type > 7;
  return Buffer.from([((extended ? 0 : type) << 5) | sizeBits, ...(extended ? [type - 7] : []), ...sizeBytes]);
}
