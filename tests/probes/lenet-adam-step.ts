// The LeNet-5 training step (Adam) on a fixed batch: shared by the CNN allocation test, its probe and the
// profiling of the compiled step. conv 1→6 5×5 pad 2, ReLU, max pool 2, conv 6→16 5×5, ReLU, max pool 2,
// flatten, 400→120→84→10.
import {
  buildModel,
  Conv2d,
  crossEntropy,
  Flatten,
  Linear,
  MaxPool2d,
  optim,
  ReLU,
  Sequential,
  type TrainStepOptions,
  trainStep,
} from "adjoint";

export function lenet() {
  return new Sequential(
    new Conv2d(1, 6, 5, { padding: 2 }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(6, 16, 5),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(400, 120),
    new ReLU(),
    new Linear(120, 84),
    new ReLU(),
    new Linear(84, 10),
  );
}

export function lenetAdamStep(batch = 64, options: TrainStepOptions = {}) {
  const model = lenet();
  const { graph, x, y } = buildModel(model, { inputShape: [1, 28, 28], batch, seed: 3 });
  const labels = graph.input("y", [batch]);
  const step = trainStep(crossEntropy(y, labels), optim.adam({ lr: 1e-3 }), options);
  for (let i = 0; i < step.inputs[x.name!].length; i++) step.inputs[x.name!][i] = ((i * 7919) % 255) / 255;
  for (let i = 0; i < batch; i++) step.inputs.y[i] = i % 10;
  return step;
}
