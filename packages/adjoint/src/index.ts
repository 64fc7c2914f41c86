export * from "@adjoint/core";
