// The local attachments bucket: s3rver on 127.0.0.1, data in a folder, signatures checked
// with the local stack's credentials. Prints one line when ready, then one JSON line per
// S3 event (the same shape S3 sends), which the local stack hands to the upload checker.
"use strict";

const path = require("path");
const S3rver = require("s3rver");
const { DUMMY_ACCOUNT } = require("s3rver/lib/models/account");

const [port, directory, bucket, corsFile, accessKey] = process.argv.slice(2);
DUMMY_ACCOUNT.createKeyPair(accessKey, accessKey);

const server = new S3rver({
  address: "127.0.0.1",
  port: Number(port),
  directory: path.resolve(directory),
  silent: true,
  vhostBuckets: false,
  configureBuckets: [{ name: bucket, configs: [require("fs").readFileSync(corsFile)] }],
});
// s3rver removes a folder when its last object goes, and that races a put into the same
// folder (the put made the folder, then finds it gone, and the request fails): a marker
// file in each of our top folders, which s3rver lists as no object, keeps them in place.
for (const folder of ["uploads", "attachments", "exports", "export-jobs"]) {
  const kept = path.join(path.resolve(directory), bucket, folder);
  require("fs").mkdirSync(kept, { recursive: true });
  require("fs").writeFileSync(path.join(kept, ".keep"), "");
}
server.on("event", (event) => process.stdout.write(JSON.stringify(event) + "\n"));
server.run().then((address) => {
  process.stdout.write(JSON.stringify({ ready: `http://127.0.0.1:${address.port}` }) + "\n");
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close().then(() => process.exit(0)));
}
