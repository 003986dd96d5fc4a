import { badInput } from './errors';

/**
 * Relay global ids: opaque strings that name the type and the row, so `node(id)` can find any
 * object and an id of the wrong type is refused instead of silently matching another table.
 */
export function toGlobalId(type: string, id: string | number): string {
  const plain = `${type}:${id}`;
  // Type names and keys are printable ASCII, which btoa encodes without a Buffer in between (a
  // large answer encodes a thousand ids: 0.1 MB less garbage); base64url is base64 with - and
  // _ for + and /, unpadded.
  if (!ASCII.test(plain)) return Buffer.from(plain).toString('base64url');
  let encoded = btoa(plain);
  if (encoded.includes('+') || encoded.includes('/')) {
    encoded = encoded.replace(/\+/g, '-').replace(/\//g, '_');
  }
  const padding = encoded.indexOf('=');
  return padding < 0 ? encoded : encoded.slice(0, padding);
}

const ASCII = /^[ -~]*$/;

export function fromGlobalId(globalId: string): { type: string; id: string } {
  const decoded = Buffer.from(globalId, 'base64url').toString('utf8');
  const match = /^([A-Za-z]+):([1-9][0-9]{0,18})$/.exec(decoded);
  if (!match || toGlobalId(match[1], match[2]) !== globalId) {
    throw badInput(`"${globalId}" is not a valid id`, { id: globalId });
  }
  return { type: match[1], id: match[2] };
}

/** Decodes an id that must name a `type`; returns the row's primary key. */
export function idOf(type: string, globalId: string): string {
  const decoded = fromGlobalId(globalId);
  if (decoded.type !== type) {
    throw badInput(`"${globalId}" is a ${decoded.type} id, but a ${type} id is needed here`, {
      id: globalId,
    });
  }
  return decoded.id;
}
