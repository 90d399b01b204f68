'use strict';
// A stand-in for how the Node.js Lambda runtime treats a function's log output, re-implemented (not copied) from
// aws/aws-lambda-nodejs-runtime-interface-client, src/LogPatch.js at commit da5777a8963928cac4f6f93d88d6928262f6bd2a
// (2025-08-13), which the managed nodejs runtimes run:
// - `patchConsole` replaces console.trace/debug/info/log/warn/error (and adds fatal); `console.log` is `console.info`.
//   Nothing else is patched: `process.stdout.write` reaches the platform as written.
// - AWS_LAMBDA_LOG_FORMAT "JSON" (case-insensitive) selects the JSON logger, anything else the Text logger.
// - Text: one event `${new Date().toISOString()}\t${requestId}\t${LEVEL}\t${util.format(message, ...params)}`.
// - JSON: one event `JSON.stringify({ timestamp, level, requestId, [tenantId,] message })`, where with ONE argument
//   `message` is that argument as is (a string stays a string: a JSON text is nested as a string, not merged), and
//   with several it is `util.format(...params)`.
// - To stdout (no _LAMBDA_TELEMETRY_LOG_FD), each "\n" in the event becomes "\r" and the event ends with "\n"; with the
//   telemetry fd the same text goes out in one length-prefixed frame. Either way one console call is one log event.
// - AWS_LAMBDA_LOG_LEVEL drops calls below the level (levels TRACE … FATAL; default TRACE).
// The runtime's stdout, outside console, is cut into events at "\n" (that is why its own stdout logger replaces "\n"
// inside a message by "\r"). Loaded with `node -r` when CFM_LAMBDA_CONSOLE is set; `textEvent`/`jsonEvent` are
// exported for in-process checks.
const util = require('util');

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

function textEvent(time, requestId, level, message, ...params) {
  return `${time}\t${requestId}\t${level}\t${util.format(message, ...params)}`;
}

function jsonEvent(time, requestId, level, message, ...params) {
  const record = { timestamp: time, level, requestId };
  if (params.length === 0) {
    record.message = message;
    try {
      return JSON.stringify(record);
    } catch (_) {
      record.message = util.format(message);
      return JSON.stringify(record);
    }
  }
  record.message = util.format(message, ...params);
  return JSON.stringify(record);
}

function patchConsole(format, requestId, write) {
  const toEvent = String(format).toUpperCase() === 'JSON' ? jsonEvent : textEvent;
  const min = Math.max(0, LEVELS.indexOf(String(process.env.AWS_LAMBDA_LOG_LEVEL || 'TRACE').toUpperCase()));
  const logAt = (level) => (LEVELS.indexOf(level) >= min
    ? (message, ...params) => write(toEvent(new Date().toISOString(), requestId, level, message, ...params).replace(/\n/g, '\r') + '\n')
    : () => {});
  console.trace = logAt('TRACE');
  console.debug = logAt('DEBUG');
  console.info = logAt('INFO');
  console.log = console.info;
  console.warn = logAt('WARN');
  console.error = logAt('ERROR');
  console.fatal = logAt('FATAL');
}

if (process.env.CFM_LAMBDA_CONSOLE) {
  // The runtime's stdout logger: the same stream the function's own process.stdout.write goes to.
  const stdoutWrite = process.stdout.write.bind(process.stdout);
  patchConsole(process.env.AWS_LAMBDA_LOG_FORMAT || 'Text', process.env.CFM_LAMBDA_REQUEST_ID || 'c793869b-ee49-115b-a5b6-4fd21e8dedac', stdoutWrite);
}

module.exports = { textEvent, jsonEvent, patchConsole };
