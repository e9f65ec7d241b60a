//! `max_voltage_cross_entropy` (`docs/contract.md` section 6): the score is
//! `max_n V[n]`; the first maximum's step is its support.

use crate::train::eventprop::LayerState;

/// Step `n`'s contribution: a larger voltage (or step 1) is the new maximum.
pub(crate) fn accumulate(n: usize, st: &mut LayerState) {
    for ((y, arg), &v) in st.score.iter_mut().zip(&mut st.arg).zip(&st.b) {
        if n == 1 || v > *y {
            *y = v;
            *arg = n as u32;
        }
    }
}

/// `lV[n] = beta lV[n+1] + kappa e` at the step of the maximum, else `beta lV[n+1]`.
pub(crate) fn inject(n: usize, direct: &[f32], st: &mut LayerState, beta: f32) {
    for ((lv, &arg), &ke) in st.b.iter_mut().zip(&st.arg).zip(direct) {
        *lv = if arg as usize == n { beta * *lv + ke } else { beta * *lv };
    }
}
