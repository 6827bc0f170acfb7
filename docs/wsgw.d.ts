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

/** Where an event came from. "open" once, "data" per message, "close" last. */
type WsgwEventType = "open" | "data" | "close";

/** How a message travels: text, or base64 of a binary frame. */
type WsgwMessageType = "data-text" | "data-binary";

/** The connection and event a script runs for. Read-only, except through its methods. */
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
  /**
   * Queue a frame to this connection. A string is sent as is, anything else
   * as its JSON; with type "data-binary" the message is base64 and goes out
   * as a binary frame. Throws a TypeError in a close event.
   */
  send(message: unknown, type?: WsgwMessageType): void;
  /** Close this connection (default 1000). Throws a TypeError in a close event. */
  close(code?: number, reason?: string): void;
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
  /** One socket's info. */
  info(args: { socket_id: string }): WebsocketSocketInfo | WebsocketError;
  /** Queue a message to one socket; null when queued. */
  send(args: { socket_id: string; message: unknown; type?: WsgwMessageType }): null | WebsocketError;
  /** Close one socket (default code 1000); null when done. */
  close(args: { socket_id: string; code?: number; reason?: string }): null | WebsocketError;
  /** Close every socket of the cluster; how many were closed. */
  closeAll(): number | WebsocketError;
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
