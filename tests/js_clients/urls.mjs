// Reads a JSON array of cases on stdin and writes, for each, the URL that imgproxy's official
// Node.js client writes for it (or the error it throws), as a JSON array on stdout.
//   case: {kind: "image" | "info", url: {value, displayAs}, options, key?, salt?, encryptKey?, encryptIV?}
import { generateImageUrl, generateImageInfoUrl } from "@imgproxy/imgproxy-node";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const results = cases.map((c) => {
  const generate = c.kind === "info" ? generateImageInfoUrl : generateImageUrl;
  try {
    return { url: generate({ endpoint: "http://imgproxy.test", ...c }) };
  } catch (error) {
    return { error: String(error && error.message ? error.message : error) };
  }
});
process.stdout.write(JSON.stringify(results));
