// MNIST's shape, apart from the loader (which reads files, so is Node-only): pages that bring their own digits
// use these too.

/** Side of a digit image; each sample is 28 * 28 = 784 grey levels in [0, 1], row by row. */
export const MNIST_SIDE = 28;
/** Pixels of one digit image (28 * 28). */
export const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;
/** Number of classes (the digits 0 to 9). */
export const MNIST_CLASSES = 10;
