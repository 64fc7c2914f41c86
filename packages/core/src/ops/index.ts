// Importing the definitions registers every op (each file calls defineOp).
import "./leaf";
import "./unary";
import "./binary";
import "./reduce";
import "./matmul";
import "./layout";
import "./update";
import "./random";
import "./window";
import "./erf";
