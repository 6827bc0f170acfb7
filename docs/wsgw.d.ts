// Types of what a wsgw endpoint script sees: the globals `websocketInfo`,
// `Websocket` and `console`. docs/scripting.md says what each does.
//
// An editor that understands TypeScript (VS Code, WebStorm, Neovim with
// tsserver) checks and completes a plain .js script against this file when
// the script starts with:
//
//   // @ts-check
//   /// <reference path="./wsgw.d.ts" />
//
// (the path relative to the script), or when a jsconfig.json next to the
// scripts lists it: {"compilerOptions": {"checkJs": true}, "files": ["wsgw.d.ts"]}.
// wsgw runs a script as the body of a function, so a top-level `return` is
// allowed; TypeScript flags it (TS1108) unless the line before it says
//
//   // @ts-ignore: wsgw runs a script as a function body
//
// A test (docs/dts_test.go) compares the members declared here with what
// the runtime exposes, so neither drifts: keep each member on its own line,
// indented by two spaces, inside its interface.

/**
 * Where an event came from. "open" once, "data" per message, "close" last;
 * on a STOMP endpoint "subscribe" and "unsubscribe" per SUBSCRIBE and
 * UNSUBSCRIBE frame (docs/stomp.md).
 */
type WsgwEventType = "open" | "data" | "close" | "subscribe" | "unsubscribe";

/** The STOMP frame behind an event of a STOMP endpoint. */
interface WsgwSTOMPFrame {
  /** CONNECT, STOMP, SUBSCRIBE, UNSUBSCRIBE or SEND. */
  command: string;
  /** The frame's headers; of a repeated header, the first. */
  headers: Record<string, string>;
}

/** send's options: a STOMP socket delivers to its subscriptions of destination. */
interface WsgwSendOptions {
  type?: WsgwMessageType;
  /** The STOMP destination: the socket's subscriptions to it get a MESSAGE frame. */
  destination?: string;
  /** Headers added to the MESSAGE frames. */
  headers?: Record<string, string>;
}

/** How a message travels: text, or base64 of a binary frame. */
type WsgwMessageType = "data-text" | "data-binary";

/** The connection and event a script runs for. Read-only, except `state` and through its methods. */
interface WebsocketInfo {
  /** Full URI of the upgrade request: scheme (ws/wss), host, path, query. */
  readonly uri: string;
  /** The event. */
  readonly type: WsgwEventType;
  /** The endpoint path as configured, e.g. "/chat/{room}". */
  readonly route: string;
  /** Upgrade request headers, names lower-cased, repeated values joined with ", ". */
  readonly headers: Record<string, string>;
  /** data events: the text, or base64 of a binary frame; "" otherwise. */
  readonly message: string;
  /** data events only. */
  readonly message_type?: WsgwMessageType;
  /** The connection's ID: unguessable, URL-safe, unique in the cluster. */
  readonly socket_id: string;
  /** When the event was received, milliseconds since the Unix epoch. */
  readonly timestamp: number;
  /** Path and query parameters in one map (the path wins on a clash). */
  readonly parameters: Record<string, string>;
  /** close events only: the close status code. */
  readonly close_code?: number;
  /** close events only: the close reason. */
  readonly close_reason?: string;
  /** The verified token's claims when the endpoint has `auth`, else null. */
  readonly auth: Record<string, unknown> | null;
  /** The WebSocket subprotocol agreed on at the upgrade, "" for none. */
  readonly subprotocol: string;
  /** STOMP endpoints' open, data, subscribe and unsubscribe events: the frame. */
  readonly stomp?: WsgwSTOMPFrame;
  /** STOMP endpoints' data, subscribe and unsubscribe events: the destination. */
  readonly destination?: string;
  /**
   * The connection's own state: {} at open; what an open or data event
   * leaves in it (changed in place or replaced) the next event sees. Saved
   * as JSON, at most limits.max_state_bytes; the close event's changes are
   * discarded.
   */
  state: any;
  /** The user the connection is bound to (auth.user_claim, or setUser); null for none. */
  readonly user_id: string | null;
  /**
   * Queue a frame to this connection. A string is sent as is, anything else
   * as its JSON; with type "data-binary" the message is base64 and goes out
   * as a binary frame. The second argument is the type, or an options
   * object whose destination addresses a STOMP socket's subscriptions.
   * Throws a TypeError in a close event.
   */
  send(message: unknown, type?: WsgwMessageType | WsgwSendOptions): void;
  /** Close this connection (default 1000). Throws a TypeError in a close event. */
  close(code?: number, reason?: string): void;
  /**
   * Bind this connection to a user (1-256 characters), or unbind it with
   * null. Throws a TypeError for anything else, and in a close event.
   */
  setUser(id: string | null): void;
  /**
   * Join a group (1-256 characters, no control characters); joining twice
   * changes nothing. Throws a TypeError for a bad name or in a close event,
   * a RangeError past limits.max_groups_per_socket.
   */
  join(group: string): void;
  /** Leave a group; one it is not in changes nothing. Throws as join does. */
  leave(group: string): void;
}

/** The kinds of error, as REST answers name them too (docs/openapi.yaml). */
type WsgwErrorType =
  | "invalid_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  | "upgrade_required"
  | "too_many_requests"
  | "unavailable"
  | "internal";

/** What every Websocket call returns instead of throwing when it fails. */
interface WebsocketError {
  type: WsgwErrorType;
  /** A human-readable message. */
  error: string;
  /** The HTTP status the same failure has over REST (400, 404, 413, 503...). */
  status: number;
}

/** The info of a socket, as Websocket.info and REST give it. */
interface WebsocketSocketInfo {
  socket_id: string;
  uri: string;
  route: string;
  headers: Record<string, string>;
  parameters: Record<string, string>;
  /** When it opened, milliseconds since the Unix epoch. */
  timestamp: number;
  /** "open" while connected. */
  type: "open";
  /** The node that holds it. */
  node: string;
  messages_in: number;
  messages_out: number;
  messages_dropped: number;
  /** The version of the script its last event ran. */
  script_version: number;
  /** The WebSocket subprotocol agreed on at the upgrade, "" for none. */
  subprotocol: string;
  /** websocketInfo.state as its scripts last saved it. */
  state: any;
  /** The user it is bound to; null for none. */
  user_id: string | null;
  /** The groups it is in, sorted. */
  groups: string[];
}

/** A page of socket IDs; cursor is null on the last page. */
interface WebsocketPage {
  ids: string[];
  cursor: string | null;
}

/** The socket service: reaches any socket of the cluster, whichever node holds it. */
interface WebsocketService {
  /** Every socket's ID; with limit or cursor, one page. */
  list(): string[] | WebsocketError;
  list(page: { limit?: number; cursor?: string }): WebsocketPage | WebsocketError;
  /** The IDs of a user's sockets, on every node; [] for none. */
  list(args: { user_id: string }): string[] | WebsocketError;
  /** The IDs of a group's members, on every node; with limit or cursor, one page. */
  list(args: { group: string }): string[] | WebsocketError;
  list(args: { group: string; limit?: number; cursor?: string }): WebsocketPage | WebsocketError;
  /** One socket's info. */
  info(args: { socket_id: string }): WebsocketSocketInfo | WebsocketError;
  /** Queue a message to one socket; null when queued. */
  send(args: { socket_id: string; message: unknown; type?: WsgwMessageType; destination?: string; headers?: Record<string, string> }): null | WebsocketError;
  /** Close one socket (default code 1000); null when done. */
  close(args: { socket_id: string; code?: number; reason?: string }): null | WebsocketError;
  /** Close every socket of the cluster; how many were closed. */
  closeAll(): number | WebsocketError;
  /** Queue a message to every socket of a user, on every node; to how many. */
  sendToUser(args: { user_id: string; message: unknown; type?: WsgwMessageType; destination?: string; headers?: Record<string, string> }): number | WebsocketError;
  /** Close every socket of a user (default code 1000); how many. */
  closeUser(args: { user_id: string; code?: number; reason?: string }): number | WebsocketError;
  /** Put any socket of the cluster in a group; null when done. */
  join(args: { socket_id: string; group: string }): null | WebsocketError;
  /** Take any socket of the cluster out of a group; null when done. */
  leave(args: { socket_id: string; group: string }): null | WebsocketError;
  /** Queue a message to every member of a group, on every node, but the excluded; null when every node has it. */
  publish(args: { group: string; message: unknown; type?: WsgwMessageType; exclude?: string[]; headers?: Record<string, string> }): null | WebsocketError;
  /** publish to every socket of the cluster. */
  broadcast(args: { message: unknown; type?: WsgwMessageType; exclude?: string[] }): null | WebsocketError;
}

/** Structured log lines tagged with the endpoint and socket_id. */
interface WsgwConsole {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

declare const websocketInfo: WebsocketInfo;
declare const Websocket: WebsocketService;
declare const console: WsgwConsole;
