//! Constant tensors a forward pass needs (gather indices of the convolutions, position tables),
//! uploaded once per device and shape and then reused. Besides saving an upload per call, this
//! keeps host-to-device copies out of a forward pass once it has run: a CUDA graph records
//! kernels, and a copy from host memory recorded in one would replay from a buffer long gone.

use std::cell::RefCell;
use std::collections::HashMap;

use burn::prelude::*;
use burn::tensor::kind::BridgeTensor;

thread_local! {
    static CACHE: RefCell<HashMap<String, BridgeTensor>> = RefCell::new(HashMap::new());
}

/// The tensor named `key` on `device`, made by `make` the first time.
fn cached<const D: usize, K>(key: String, device: &Device, make: impl FnOnce() -> Tensor<D, K>) -> Tensor<D, K>
where
    K: burn::tensor::kind::Basic,
{
    let key = format!("{key} {device:?}");
    if let Some(t) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Tensor::from_bridge(t);
    }
    let t = make();
    CACHE.with(|c| c.borrow_mut().insert(key, t.clone().into_bridge()));
    t
}

/// Integer `values` as a 1-D tensor, cached under `name`.
pub fn indices(name: &str, device: &Device, values: impl FnOnce() -> Vec<i64>) -> Tensor<1, Int> {
    cached(name.to_string(), device, || {
        let values = values();
        let n = values.len();
        Tensor::from_data(TensorData::new(values, [n]), device)
    })
}

/// Float `values` of `shape`, cached under `name`.
pub fn floats<const D: usize>(name: &str, shape: [usize; D], device: &Device, values: impl FnOnce() -> Vec<f32>) -> Tensor<D> {
    cached(format!("{name} {shape:?}"), device, || Tensor::from_data(TensorData::new(values(), shape), device))
}

/// Boolean `values` of `shape`, cached under `name`.
pub fn bools<const D: usize>(
    name: &str,
    shape: [usize; D],
    device: &Device,
    values: impl FnOnce() -> Vec<bool>,
) -> Tensor<D, Bool> {
    cached(format!("{name} {shape:?}"), device, || Tensor::from_data(TensorData::new(values(), shape), device))
}
