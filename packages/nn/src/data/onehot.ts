/**
 * One-hot rows from class indices: row i has a 1 at column labels[i]. Labels are checked rather than
 * truncated, because a float label like 2.7 or a label >= classes means the data or `classes` is wrong.
 */
export function oneHot(labels: ArrayLike<number>, classes: number): Float32Array {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new Error(`oneHot: classes must be a whole number >= 1, got ${classes}`);
  }
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new Error(`oneHot: label ${label} at index ${i} is not a whole number in [0, ${classes})`);
    }
    out[i * classes + label] = 1;
  }
  return out;
}
