// The contract's value codec with Node's Buffer doing base64: faster than plain code, and bytes come
// back as Buffers (what the in-process API answers with), so a value crosses a Node door unchanged.
import { createCodec, portableBase64, type Base64 } from '../contract/codec.js';

export { MAX_WIRE_DEPTH } from '../contract/codec.js';

// In a browser (the window's renderer bundles the door kit's client) there is no Buffer: the contract's portable base64 serves.
const nodeBase64: Base64 = typeof Buffer === 'undefined' ? portableBase64 : {
  encode: (bytes) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('base64'),
  decode: (text) => Buffer.from(text, 'base64'),
};

/** The codec every Node door uses (main/contract/codec.ts with Buffer's base64). */
export const { toWire, fromWire } = createCodec(nodeBase64);
