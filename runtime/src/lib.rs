pub fn x(){}
pub mod interp;
pub mod jit;
