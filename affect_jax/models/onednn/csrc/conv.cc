// XLA FFI handlers: NHWC/HWIO 2-D convolutions (stride 1, no dilation, one group)
// through oneDNN's primitives, forward, input gradient and weight gradient.
//
// Why: XLA:CPU's own convolutions (and their gradients) run at 40-60% of the
// matmul ceiling on the project's CPUs, oneDNN's NHWC primitives at ~95%
// (issue 19). The handlers take XLA's buffers as they are (NHWC activations,
// HWIO kernels): only the small kernels are reordered into oneDNN's blocked
// layout. Primitives are built once per shape and dtype and cached; each call
// brings its own scratchpad, so concurrent calls (one per device of a CPU
// mesh) never share memory.
#include <omp.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "oneapi/dnnl/dnnl.hpp"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using dnnl::memory;
using tag = dnnl::memory::format_tag;

namespace {

enum Kind : int64_t { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// What a cached primitive needs at run time besides the buffers.
struct Entry {
  dnnl::primitive primitive;
  memory::desc scratchpad;
  memory::desc weights;       // The primitive's (maybe blocked) weight layout.
  bool reorder = false;       // Whether it differs from the user's HWIO.
  dnnl::reorder weights_reorder;  // HWIO -> weights (forward, input gradient)
                                  // or weights -> HWIO (weight gradient).
  memory::desc reorder_scratchpad;
};

// kind, dtype, N, H, W, C, F, KH, KW, OH, OW, pad top, bottom, left, right, threads.
// The thread count is part of the key: a primitive fixes how it splits its work
// (and so the order of its sums) over the threads it was created for.
using Key = std::array<int64_t, 16>;

dnnl::primitive_attr UserScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

std::shared_ptr<Entry> Build(const Key& k) {
  const auto dt = k[1] == 1 ? memory::data_type::bf16 : memory::data_type::f32;
  const memory::dims src{k[2], k[5], k[3], k[4]};  // oneDNN's logical order: NCHW, OIHW.
  const memory::dims wei{k[6], k[5], k[7], k[8]};
  const memory::dims dst{k[2], k[6], k[9], k[10]};
  const memory::dims strides{1, 1}, pad_l{k[11], k[13]}, pad_r{k[12], k[14]};
  const memory::desc src_md(src, dt, tag::nhwc), dst_md(dst, dt, tag::nhwc);
  const memory::desc any_wei(wei, dt, tag::any), user_wei(wei, dt, tag::hwio);
  const auto attr = UserScratchpad();
  auto& eng = Engine();
  const dnnl::convolution_forward::primitive_desc hint(
      eng, dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src_md,
      any_wei, dst_md, strides, pad_l, pad_r, attr);
  auto entry = std::make_shared<Entry>();
  if (k[0] == kForward) {
    entry->primitive = dnnl::convolution_forward(hint);
    entry->scratchpad = hint.scratchpad_desc();
    entry->weights = hint.weights_desc();
  } else if (k[0] == kBackwardData) {
    const dnnl::convolution_backward_data::primitive_desc pd(
        eng, dnnl::algorithm::convolution_direct, src_md, any_wei, dst_md, strides, pad_l, pad_r,
        hint, attr);
    entry->primitive = dnnl::convolution_backward_data(pd);
    entry->scratchpad = pd.scratchpad_desc();
    entry->weights = pd.weights_desc();
  } else {
    const dnnl::convolution_backward_weights::primitive_desc pd(
        eng, dnnl::algorithm::convolution_direct, src_md, any_wei, dst_md, strides, pad_l, pad_r,
        hint, attr);
    entry->primitive = dnnl::convolution_backward_weights(pd);
    entry->scratchpad = pd.scratchpad_desc();
    entry->weights = pd.diff_weights_desc();
  }
  entry->reorder = entry->weights != user_wei;
  if (entry->reorder) {
    const bool to_user = k[0] == kBackwardWeights;
    const dnnl::reorder::primitive_desc rpd(
        eng, to_user ? entry->weights : user_wei, eng, to_user ? user_wei : entry->weights, attr);
    entry->weights_reorder = dnnl::reorder(rpd);
    entry->reorder_scratchpad = rpd.scratchpad_desc();
  }
  return entry;
}

std::shared_ptr<Entry> Lookup(const Key& key) {
  static std::mutex mutex;
  static std::map<Key, std::shared_ptr<Entry>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  auto entry = Build(key);
  cache.emplace(key, entry);
  return entry;
}

// A zeroed, page-aligned buffer, as oneDNN allocates its own scratchpads (a
// std::vector's data is only 16-byte aligned, and where it lands varies).
struct Buffer {
  std::unique_ptr<uint8_t, decltype(&std::free)> data{nullptr, &std::free};
  void* Allocate(size_t size) {
    const size_t rounded = (size + 4095) / 4096 * 4096;
    data.reset(static_cast<uint8_t*>(std::aligned_alloc(4096, rounded ? rounded : 4096)));
    if (!data) throw std::bad_alloc();
    std::memset(data.get(), 0, rounded);
    return data.get();
  }
};

memory Scratch(const memory::desc& md, Buffer& bytes) {
  return memory(md, Engine(), bytes.Allocate(md.get_size()));
}

// x: [N, H, W, C] activations, w: [KH, KW, C, F] kernel, y: [N, OH, OW, F]; for each
// kind, two of them are inputs and the third is the result.
ffi::Error Run(Kind kind, ffi::ThreadPool pool, void* x, void* w, void* y,
               ffi::AnyBuffer::Dimensions xd, ffi::AnyBuffer::Dimensions wd,
               ffi::AnyBuffer::Dimensions yd, ffi::DataType dtype, int64_t top, int64_t bottom,
               int64_t left, int64_t right) {
  if (xd.size() != 4 || wd.size() != 4 || yd.size() != 4) {
    return ffi::Error::InvalidArgument("onednn conv: operands must be rank 4 (NHWC, HWIO)");
  }
  if (dtype != ffi::DataType::F32 && dtype != ffi::DataType::BF16) {
    return ffi::Error::InvalidArgument("onednn conv: only float32 and bfloat16");
  }
  // oneDNN parallelises with OpenMP: as many threads as XLA's intra-op pool (or
  // the cores, without one), set on every call since the setting is per thread.
  const int64_t pool_threads = pool.num_threads();
  const int threads = pool_threads > 0 ? static_cast<int>(pool_threads) : omp_get_num_procs();
  omp_set_num_threads(threads);
  const Key key{kind, dtype == ffi::DataType::BF16 ? 1 : 0, xd[0], xd[1], xd[2], xd[3], wd[3],
                wd[0], wd[1], yd[1], yd[2], top, bottom, left, right, threads};
  try {
    const auto entry = Lookup(key);
    auto& eng = Engine();
    const auto dt = key[1] == 1 ? memory::data_type::bf16 : memory::data_type::f32;
    const memory x_m({{xd[0], xd[3], xd[1], xd[2]}, dt, tag::nhwc}, eng, x);
    const memory y_m({{yd[0], yd[3], yd[1], yd[2]}, dt, tag::nhwc}, eng, y);
    const memory user_w({{wd[3], wd[2], wd[0], wd[1]}, dt, tag::hwio}, eng, w);
    Buffer scratch_bytes, reorder_bytes, weight_bytes;
    const memory scratch = Scratch(entry->scratchpad, scratch_bytes);
    memory prim_w = user_w;
    if (entry->reorder) {
      prim_w = memory(entry->weights, eng, weight_bytes.Allocate(entry->weights.get_size()));
    }
    dnnl::stream stream(eng);
    const auto reorder = [&](const memory& from, const memory& to) {
      entry->weights_reorder.execute(
          stream, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to},
                   {DNNL_ARG_SCRATCHPAD, Scratch(entry->reorder_scratchpad, reorder_bytes)}});
    };
    if (kind != kBackwardWeights && entry->reorder) reorder(user_w, prim_w);
    if (kind == kForward) {
      entry->primitive.execute(stream, {{DNNL_ARG_SRC, x_m}, {DNNL_ARG_WEIGHTS, prim_w},
                                        {DNNL_ARG_DST, y_m}, {DNNL_ARG_SCRATCHPAD, scratch}});
    } else if (kind == kBackwardData) {
      entry->primitive.execute(stream, {{DNNL_ARG_DIFF_DST, y_m}, {DNNL_ARG_WEIGHTS, prim_w},
                                        {DNNL_ARG_DIFF_SRC, x_m}, {DNNL_ARG_SCRATCHPAD, scratch}});
    } else {
      entry->primitive.execute(stream, {{DNNL_ARG_SRC, x_m}, {DNNL_ARG_DIFF_DST, y_m},
                                        {DNNL_ARG_DIFF_WEIGHTS, prim_w},
                                        {DNNL_ARG_SCRATCHPAD, scratch}});
      if (entry->reorder) reorder(prim_w, user_w);
    }
    stream.wait();
  } catch (const dnnl::error& e) {
    return ffi::Error::Internal(std::string("oneDNN: ") + e.what());
  } catch (const std::bad_alloc&) {
    return ffi::Error::Internal("onednn conv: out of memory for a scratchpad");
  }
  return ffi::Error::Success();
}

ffi::Error Forward(ffi::ThreadPool pool, ffi::AnyBuffer x, ffi::AnyBuffer w,
                   ffi::Result<ffi::AnyBuffer> y, int64_t top, int64_t bottom, int64_t left,
                   int64_t right) {
  return Run(kForward, pool, x.untyped_data(), w.untyped_data(), y->untyped_data(),
             x.dimensions(), w.dimensions(), y->dimensions(), x.element_type(), top, bottom,
             left, right);
}

ffi::Error BackwardData(ffi::ThreadPool pool, ffi::AnyBuffer dy, ffi::AnyBuffer w,
                        ffi::Result<ffi::AnyBuffer> dx, int64_t top, int64_t bottom,
                        int64_t left, int64_t right) {
  return Run(kBackwardData, pool, dx->untyped_data(), w.untyped_data(), dy.untyped_data(),
             dx->dimensions(), w.dimensions(), dy.dimensions(), dy.element_type(), top, bottom,
             left, right);
}

ffi::Error BackwardWeights(ffi::ThreadPool pool, ffi::AnyBuffer x, ffi::AnyBuffer dy,
                           ffi::Result<ffi::AnyBuffer> dw, int64_t top, int64_t bottom,
                           int64_t left, int64_t right) {
  return Run(kBackwardWeights, pool, x.untyped_data(), dw->untyped_data(), dy.untyped_data(),
             x.dimensions(), dw->dimensions(), dy.dimensions(), x.element_type(), top, bottom,
             left, right);
}

}  // namespace

// The three handlers share one signature: two buffers in, one out, the padding.
#define AFFECT_JAX_BIND                                      \
  ffi::Ffi::Bind()                                                          \
      .Ctx<ffi::ThreadPool>()                                               \
      .Arg<ffi::AnyBuffer>()                                                \
      .Arg<ffi::AnyBuffer>()                                                \
      .Ret<ffi::AnyBuffer>()                                                \
      .Attr<int64_t>("pad_top")                                             \
      .Attr<int64_t>("pad_bottom")                                          \
      .Attr<int64_t>("pad_left")                                            \
      .Attr<int64_t>("pad_right")

XLA_FFI_DEFINE_HANDLER_SYMBOL(AffectJaxOnednnConvForward, Forward, AFFECT_JAX_BIND);
XLA_FFI_DEFINE_HANDLER_SYMBOL(AffectJaxOnednnConvBackwardData, BackwardData,
                              AFFECT_JAX_BIND);
XLA_FFI_DEFINE_HANDLER_SYMBOL(AffectJaxOnednnConvBackwardWeights, BackwardWeights,
                              AFFECT_JAX_BIND);

// The oneDNN CPU ISA in use, for logs and benchmarks (dnnl_cpu_isa_t's value).
extern "C" int AffectJaxOnednnCpuIsa() { return static_cast<int>(dnnl::get_effective_cpu_isa()); }
