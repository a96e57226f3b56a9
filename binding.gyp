# The CPU build of the addon with node-gyp (which ships with npm: no cmake needed). CMakeLists.txt
# stays the build for CUDA. LibTorch comes from scripts/libtorch.js, as for the CMake build.
{
  "targets": [
    {
      "target_name": "ir_rcnn",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native', { recursive: true }).filter((f) => f.endsWith('.cpp')).map((f) => 'native/' + f).join('\\n')\")"
      ],
      "include_dirs": [
        "native",
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch.js include)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "<!@(node scripts/libtorch.js defines)"
      ],
      # LibTorch needs exceptions and RTTI; its at::parallel_for expands to OpenMP in our kernels.
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-fexceptions", "-frtti", "-fopenmp", "-Wall", "-Wno-unused-parameter"],
      "libraries": ["<!@(node scripts/libtorch.js libraries)", "-fopenmp"]
    }
  ]
}
