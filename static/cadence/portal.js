/* Cadence portal: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Seats below the devices deployed: warn while typing (the server refuses it anyway).
  function checkSeats(input) {
    var devices = parseInt(input.getAttribute("data-devices") || "0", 10);
    var value = parseInt(input.value || "0", 10);
    var warning = document.getElementById(input.id + "-warning");
    if (!warning) return;
    warning.hidden = !(devices > 0 && !isNaN(value) && value < devices);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var inputs = document.querySelectorAll("input[data-devices]");
    Array.prototype.forEach.call(inputs, function (input) {
      input.addEventListener("input", function () { checkSeats(input); });
      checkSeats(input);
    });
  });
})();
