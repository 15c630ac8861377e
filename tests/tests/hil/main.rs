//! Hardware in the loop without hardware: every real-arm driver against its device emulator, each through the
//! shared step-response check of [`tests::hil`].

mod dynamixel;
mod feetech;
mod franka;
mod ur_rtde;
