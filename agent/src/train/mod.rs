//! Learning in one process, without the bus: the trainer that records scripted demonstrations and trains SAC +
//! RLPD on any [`interfaces::env::Env`] ([`trainer`], what `corrigo bench learning` runs), the scripted expert's
//! demonstrations ([`expert`]), evaluation with the success rate's Wilson interval ([`eval`]), and training the
//! reward classifier from a run directory's labelled frames ([`classifier`], `corrigo classifier`), and a
//! behaviour-cloned policy from its demonstrations ([`bc`], `corrigo bc`, e.g. the base of residual RL).

pub mod bc;
pub mod classifier;
pub mod eval;
pub mod expert;
pub mod trainer;
