// A scriptable SMSC for the SMPP gateway tests, on the real SMPP implementation of npm `smpp` 0.5.1
// (farhadi/node-smpp, pinned in tests/node/package.json; install with `npm ci --prefix tests/node`).
//
//   node smsc.js '<json config>'        (NODE_PATH must contain tests/node/node_modules)
//
// Config (all optional): port (0 = any free port), password (a bind with another password gets
// ESME_RINVPASWD), bind_status, submit_statuses ({"<n>": status} for the n-th submit_sm, 1-based),
// silent_submits ([n, ...]: no answer), garbage_on_submit (n: answer with bytes that are no PDU),
// close_on_submit (n: drop the connection instead of answering), resp_delay_ms, receipts
// ("immediate" | "hold" | "none"), receipt_stat ("DELIVRD"), receipt_tlvs (true: also send
// receipted_message_id and message_state), answer_enquire_link (true).
//
// Every event is one JSON line on stdout: listening, bind_transceiver, submit_sm (with the raw
// short_message in hex, the TLVs present and the number of unanswered submit_sm), enquire_link,
// enquire_link_resp, deliver_sm_resp, unbind, unbind_resp, closed. Commands arrive as JSON lines on stdin:
// {"cmd": "release_receipts"}, {"cmd": "enquire_link"}, {"cmd": "unbind"}, {"cmd": "drop"} (close every
// connection),
// {"cmd": "deliver_sm", ...fields, "short_message_hex": "..."} (an MO or a hand-made receipt).
// The process exits when stdin closes, so a crashed test never leaves it running.
"use strict";

const smpp = require("smpp");
const defs = require("smpp/lib/defs");
const readline = require("readline");

// Keep short_message and the time fields as received: the tests compare the exact bytes we sent.
defs.filters.message.decode = (value) => value;
defs.filters.time.decode = (value) => value;

const config = Object.assign(
  {
    port: 0,
    password: null,
    bind_status: 0,
    submit_statuses: {},
    silent_submits: [],
    garbage_on_submit: 0,
    close_on_submit: 0,
    resp_delay_ms: 0,
    receipts: "immediate",
    receipt_stat: "DELIVRD",
    receipt_tlvs: true,
    answer_enquire_link: true,
  },
  JSON.parse(process.argv[2] || "{}"),
);

const MESSAGE_STATE = { ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };
const SUBMIT_FIELDS = [
  "service_type", "source_addr_ton", "source_addr_npi", "source_addr", "dest_addr_ton", "dest_addr_npi",
  "destination_addr", "esm_class", "protocol_id", "priority_flag", "schedule_delivery_time",
  "validity_period", "registered_delivery", "replace_if_present_flag", "data_coding", "sm_default_msg_id",
];
const HEADER_FIELDS = ["command_length", "command_id", "command_status", "sequence_number", "command"];

let submitCount = 0;
let outstanding = 0;
const held = [];

function emit(event) {
  process.stdout.write(JSON.stringify(Object.assign({ t: Date.now() }, event)) + "\n");
}

function pad2(n) {
  return String(n).padStart(2, "0");
}

function smppDate(d) {
  return pad2(d.getUTCFullYear() % 100) + pad2(d.getUTCMonth() + 1) + pad2(d.getUTCDate()) +
    pad2(d.getUTCHours()) + pad2(d.getUTCMinutes());
}

function receiptFor(submit, messageId) {
  const now = new Date();
  const stat = config.receipt_stat;
  const text = `id:${messageId} sub:001 dlvrd:${stat === "DELIVRD" ? "001" : "000"} ` +
    `submit date:${smppDate(now)} done date:${smppDate(now)} stat:${stat} err:000 text:`;
  const fields = {
    source_addr_ton: submit.dest_addr_ton, source_addr_npi: submit.dest_addr_npi,
    source_addr: submit.destination_addr, dest_addr_ton: submit.source_addr_ton,
    dest_addr_npi: submit.source_addr_npi, destination_addr: submit.source_addr,
    esm_class: 0x04, data_coding: 0, short_message: Buffer.from(text, "ascii"),
  };
  if (config.receipt_tlvs) {
    fields.receipted_message_id = messageId;
    fields.message_state = MESSAGE_STATE[stat] || 7;
  }
  return fields;
}

function sendDeliver(session, fields) {
  session.deliver_sm(fields, (resp) => {
    emit({ event: "deliver_sm_resp", command_status: resp.command_status, sequence_number: resp.sequence_number });
  });
}

function onSubmit(session, pdu) {
  submitCount += 1;
  outstanding += 1;
  const n = submitCount;
  const record = { event: "submit_sm", index: n, sequence_number: pdu.sequence_number, outstanding };
  for (const f of SUBMIT_FIELDS) record[f] = pdu[f];
  record.short_message_hex = Buffer.isBuffer(pdu.short_message) ? pdu.short_message.toString("hex") : "";
  record.tlvs = Object.keys(pdu).filter((k) => !SUBMIT_FIELDS.includes(k) && !HEADER_FIELDS.includes(k) &&
    k !== "short_message" && typeof pdu[k] !== "function");
  emit(record);

  if (config.silent_submits.includes(n)) return;
  if (config.close_on_submit === n) {
    session.destroy();
    return;
  }
  if (config.garbage_on_submit === n) {
    session.socket.write(Buffer.from("00000004deadbeef", "hex"));
    return;
  }
  const status = config.submit_statuses[String(n)] || 0;
  const messageId = `smsc-${n}`;
  setTimeout(() => {
    outstanding -= 1;
    session.send(pdu.response(status ? { command_status: status } : { message_id: messageId }));
    if (status || config.receipts === "none") return;
    const receipt = receiptFor(record, messageId);
    if (config.receipts === "hold") held.push([session, receipt]);
    else sendDeliver(session, receipt);
  }, config.resp_delay_ms);
}

const server = smpp.createServer((session) => {
  session.on("bind_transceiver", (pdu) => {
    emit({
      event: "bind_transceiver", system_id: pdu.system_id, password: pdu.password,
      system_type: pdu.system_type, interface_version: pdu.interface_version,
    });
    let status = config.bind_status;
    if (!status && config.password !== null && pdu.password !== config.password) status = 0x0e;
    session.send(pdu.response(status ? { command_status: status } : { system_id: "alphasms-test-smsc" }));
    if (status) session.close();
  });
  session.on("submit_sm", (pdu) => onSubmit(session, pdu));
  session.on("enquire_link", (pdu) => {
    emit({ event: "enquire_link" });
    if (config.answer_enquire_link) session.send(pdu.response());
  });
  session.on("enquire_link_resp", () => emit({ event: "enquire_link_resp" }));
  session.on("unbind_resp", () => emit({ event: "unbind_resp" }));
  session.on("unbind", (pdu) => {
    emit({ event: "unbind" });
    session.send(pdu.response());
    session.close();
  });
  session.on("close", () => emit({ event: "closed" }));
  session.on("error", () => {});
});

function command(line) {
  const message = JSON.parse(line);
  if (message.cmd === "release_receipts") {
    while (held.length) {
      const [session, fields] = held.shift();
      sendDeliver(session, fields);
    }
  } else if (message.cmd === "enquire_link") {
    for (const session of server.sessions) session.enquire_link({});
  } else if (message.cmd === "unbind") {
    for (const session of server.sessions) session.unbind({});
  } else if (message.cmd === "drop") {
    for (const session of server.sessions.slice()) session.destroy();
  } else if (message.cmd === "deliver_sm") {
    const fields = Object.assign({}, message);
    delete fields.cmd;
    fields.short_message = Buffer.from(message.short_message_hex || "", "hex");
    delete fields.short_message_hex;
    for (const session of server.sessions) sendDeliver(session, fields);
  }
}

readline.createInterface({ input: process.stdin }).on("line", command).on("close", () => process.exit(0));
server.listen(config.port, "127.0.0.1", () => emit({ event: "listening", port: server.address().port }));
