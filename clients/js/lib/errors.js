// The errors of the tenure client.

/** Base class of every error this package throws on purpose. */
export class TenureError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

/** The agent answered with a status of 400 or more. */
export class APIError extends TenureError {
  constructor(status, message, body) {
    super(`agent answered ${status}: ${message}`);
    this.status = status;
    this.agentMessage = message;
    this.body = body ?? { error: message };
  }
}

/**
 * An acquire could not have the lease (409): held by another, contended,
 * or the wait ran out. holder is the voters' hint (R14), or null.
 */
export class LeaseHeld extends APIError {
  constructor(status, message, body, holder = null) {
    super(status, message, body);
    this.holder = holder;
  }
}

/** The agent cannot serve the call now (503): stopping, or too few voters. */
export class Unavailable extends APIError {}

/**
 * The tenure is over, or may be: stop acting under it. status is the
 * agent's (403 wrong key, 409 unknown token, 410 ended), or null when the
 * deadline passed on this process's clock or the lease was released.
 */
export class LeaseLost extends TenureError {
  constructor(reason, status = null, options = undefined) {
    super(reason, options);
    this.reason = reason;
    this.status = status;
  }
}
