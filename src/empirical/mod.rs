//! Cheap published permafrost models behind the same model interface: frost number, TTOP with rk, Kudryavtsev, Stefan ALT, InSAR seasonal deformation, daily freeze-thaw state.
