import { MlopsError } from "../errors.js";

/** Suffix of in-flight temp files of the file backend; never a valid key, never listed. */
export const TEMP_SUFFIX = ".mlops-tmp";

/**
 * Checks an object key: a relative `/`-separated path without empty, `.` or `..` segments, so a key can
 * never escape the store's root (file) or prefix (S3).
 */
export function checkKey(key: string, field = "key"): string {
  if (typeof key !== "string" || key.length === 0 || key.length > 1024) {
    throw MlopsError.of(field, "is not an object key", key, "Give a relative path of 1 to 1024 characters, e.g. \"models/fraud/versions/0000000001.json\".");
  }
  if (key.startsWith("/") || key.includes("\\") || key.includes("\0")) {
    throw MlopsError.of(field, "is not a relative object key", key, 'Give a path relative to the store root, with "/" separators and no leading "/".');
  }
  for (const segment of key.split("/")) {
    if (segment === "" || segment === "." || segment === "..") {
      throw MlopsError.of(field, 'has an empty, "." or ".." segment', key, "Give a path without \"//\", \".\" or \"..\" parts.");
    }
  }
  if (key.endsWith(TEMP_SUFFIX) || key.includes(`${TEMP_SUFFIX}/`)) {
    throw MlopsError.of(field, `ends with the reserved suffix "${TEMP_SUFFIX}"`, key, "Choose another name.");
  }
  return key;
}

/** Checks a list prefix: "" (everything), or a key prefix that is a valid key up to its last "/". */
export function checkPrefix(prefix: string): string {
  if (prefix === "") return prefix;
  const dir = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  checkKey(dir, "prefix");
  return prefix;
}
